package routeemitter

import (
	"encoding/json"

	"github.com/openbbs/bbs/models"
)

// CFRouter is the key of a DesiredLRP's Routes under which Cloud Foundry's HTTP routes are.
const CFRouter = "cf-router"

// CFRoute is one HTTP route of an LRP: requests for Hostnames go to the instances' container
// Port, through RouteServiceUrl when it is set. Its JSON is that of Cloud Foundry's
// routing-info (cfroutes).
type CFRoute struct {
	Hostnames       []string `json:"hostnames"`
	Port            uint32   `json:"port"`
	RouteServiceUrl string   `json:"route_service_url,omitempty"`
}

// CFRoutes are the HTTP routes of an LRP.
type CFRoutes []CFRoute

// RoutingInfo returns routes as a DesiredLRP carries them, under CFRouter.
func (routes CFRoutes) RoutingInfo() models.Routes {
	if routes == nil {
		routes = CFRoutes{}
	}
	data, _ := json.Marshal(routes) // plain strings and numbers: cannot fail
	raw := json.RawMessage(data)
	return models.Routes{CFRouter: &raw}
}

// CFRoutesFromRoutingInfo decodes the CFRouter entry of routes; nil routes, or none under
// CFRouter, give no routes.
func CFRoutesFromRoutingInfo(routes *models.Routes) (CFRoutes, error) {
	if routes == nil {
		return nil, nil
	}
	raw := (*routes)[CFRouter]
	if raw == nil {
		return nil, nil
	}
	var out CFRoutes
	if err := json.Unmarshal(*raw, &out); err != nil {
		return nil, err
	}
	return out, nil
}
