package models

import "slices"

// CellCapacity is what a cell offers.
type CellCapacity struct {
	MemoryMb   int32 `json:"memory_mb"`
	DiskMb     int32 `json:"disk_mb"`
	Containers int32 `json:"containers"`
}

// NewCellCapacity returns a capacity.
func NewCellCapacity(memoryMb, diskMb, containers int32) CellCapacity {
	return CellCapacity{MemoryMb: memoryMb, DiskMb: diskMb, Containers: containers}
}

// Provider is a root file system provider of a cell (for example "preloaded" with the
// stacks it has, or "docker").
type Provider struct {
	Name       string   `json:"name"`
	Properties []string `json:"properties,omitempty"`
}

// CellPresence is what a cell says of itself when it registers: where its rep answers,
// its zone and capacity, and what it can run. A cell keeps its presence by upserting it
// again before its TTL runs out.
type CellPresence struct {
	CellId                string        `json:"cell_id"`
	RepAddress            string        `json:"rep_address"`
	RepUrl                string        `json:"rep_url,omitempty"`
	Zone                  string        `json:"zone,omitempty"`
	Capacity              *CellCapacity `json:"capacity,omitempty"`
	RootfsProviders       []*Provider   `json:"rootfs_providers,omitempty"`
	PlacementTags         []string      `json:"placement_tags,omitempty"`
	OptionalPlacementTags []string      `json:"optional_placement_tags,omitempty"`
}

// NewCellPresence returns a presence (BBS's parameter order).
func NewCellPresence(cellID, repAddress, repUrl, zone string, capacity CellCapacity, rootfsProviders, placementTags, optionalPlacementTags []string) CellPresence {
	var providers []*Provider
	for _, p := range rootfsProviders {
		providers = append(providers, &Provider{Name: p})
	}
	return CellPresence{
		CellId: cellID, RepAddress: repAddress, RepUrl: repUrl, Zone: zone, Capacity: &capacity,
		RootfsProviders: providers, PlacementTags: placementTags, OptionalPlacementTags: optionalPlacementTags,
	}
}

// GetCellId returns the cell id ("" for nil).
func (c *CellPresence) GetCellId() string {
	if c == nil {
		return ""
	}
	return c.CellId
}

// GetRepAddress returns the rep address ("" for nil).
func (c *CellPresence) GetRepAddress() string {
	if c == nil {
		return ""
	}
	return c.RepAddress
}

// GetZone returns the zone ("" for nil).
func (c *CellPresence) GetZone() string {
	if c == nil {
		return ""
	}
	return c.Zone
}

// Validate names every invalid field: the cell id must be a valid guid, the rep address is
// required, capacities are not negative.
func (c *CellPresence) Validate() error {
	var v validator
	if c == nil {
		v.add("cell_presence", "is required")
		return v.err()
	}
	v.guid("cell_presence.cell_id", c.CellId)
	v.check(c.RepAddress != "", "cell_presence.rep_address", "is required")
	if c.Capacity != nil {
		v.nonNegative("cell_presence.capacity.memory_mb", int64(c.Capacity.MemoryMb))
		v.nonNegative("cell_presence.capacity.disk_mb", int64(c.Capacity.DiskMb))
		v.nonNegative("cell_presence.capacity.containers", int64(c.Capacity.Containers))
	}
	for _, p := range c.RootfsProviders {
		v.check(p != nil && p.Name != "", "cell_presence.rootfs_providers", "every provider needs a name")
	}
	return v.err()
}

// Copy returns a deep copy.
func (c *CellPresence) Copy() *CellPresence {
	if c == nil {
		return nil
	}
	cp := *c
	if c.Capacity != nil {
		capacity := *c.Capacity
		cp.Capacity = &capacity
	}
	cp.RootfsProviders = nil
	for _, p := range c.RootfsProviders {
		if p != nil {
			pc := *p
			pc.Properties = slices.Clone(p.Properties)
			p = &pc
		}
		cp.RootfsProviders = append(cp.RootfsProviders, p)
	}
	cp.PlacementTags = slices.Clone(c.PlacementTags)
	cp.OptionalPlacementTags = slices.Clone(c.OptionalPlacementTags)
	return &cp
}

// CellSet is a set of cells by id, as BBS's convergence keeps the live ones.
type CellSet map[string]*CellPresence

// NewCellSet returns an empty set.
func NewCellSet() CellSet { return CellSet{} }

// Add puts a cell in the set.
func (s CellSet) Add(c *CellPresence) { s[c.CellId] = c }

// HasCellID reports whether the set has the cell.
func (s CellSet) HasCellID(cellID string) bool {
	_, ok := s[cellID]
	return ok
}
