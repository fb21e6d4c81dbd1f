package models_test

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/models"
)

// Fixtures: every field set, raw JSON compact (the encoder compacts raw values on the way
// out, so only compact raw JSON survives a round trip byte for byte).

// rawMessage returns s as the *json.RawMessage that Routes holds (BBS's type).
func rawMessage(s string) *json.RawMessage {
	m := json.RawMessage(s)
	return &m
}

// routesOf returns Routes from router names and raw JSON values, in pairs.
func routesOf(kv ...string) *models.Routes {
	r := models.Routes{}
	for i := 0; i+1 < len(kv); i += 2 {
		r[kv[i]] = rawMessage(kv[i+1])
	}
	return &r
}

func newDesiredLRP() *models.DesiredLRP {
	return &models.DesiredLRP{
		ProcessGuid:          "pg-1",
		Domain:               "domain-1",
		RootFs:               "docker:///busybox",
		Instances:            2,
		EnvironmentVariables: []*models.EnvironmentVariable{{Name: "A", Value: "1"}, {Name: "B", Value: ""}},
		MemoryMb:             128,
		DiskMb:               256,
		MaxPids:              100,
		Ports:                []uint32{8080, 9090},
		Routes:               routesOf("cf-router", `[{"hostnames":["a.example.com"],"port":8080}]`),
		Annotation:           "an annotation",
		LogGuid:              "log-1",
		MetricTags: map[string]*models.MetricTagValue{
			"source": {Static: "web"},
			"index":  {Dynamic: models.MetricTagDynamicValueIndex},
		},
		PlacementTags:   []string{"zone-a"},
		Action:          models.RawJSON(`{"run":{"path":"/bin/sh","args":["-c","sleep 1"]}}`),
		StartTimeoutMs:  60000,
		ImageUsername:   "user",
		ImagePassword:   "s3cret",
		ModificationTag: &models.ModificationTag{Epoch: "epoch-1", Index: 3},
	}
}

func newTaskDefinition() *models.TaskDefinition {
	return &models.TaskDefinition{
		RootFs:                "docker:///busybox",
		Action:                models.RawJSON(`{"run":{"path":"/bin/true"}}`),
		MemoryMb:              64,
		DiskMb:                32,
		EnvironmentVariables:  []*models.EnvironmentVariable{{Name: "X", Value: "y"}},
		ResultFile:            "/tmp/result",
		CompletionCallbackUrl: "https://cc.example.com/callback",
		Annotation:            "task annotation",
		ImageUsername:         "user",
		ImagePassword:         "s3cret",
	}
}

// newTask returns a task in state, on cell (the caller picks a cell consistent with the state).
func newTask(state models.Task_State, cell string) *models.Task {
	t := models.NewTask("tg-1", "domain-1", newTaskDefinition(), 1000)
	t.State = state
	t.CellId = cell
	t.UpdatedAt = 2000
	if state == models.Task_Completed || state == models.Task_Resolving {
		t.Failed = true
		t.FailureReason = "boom"
		t.Result = "out"
		t.FirstCompletedAt = 1500
	}
	return t
}

var (
	lrpKey      = models.NewActualLRPKey("pg-1", 1, "domain-1")
	instanceKey = models.NewActualLRPInstanceKey("ig-1", "cell-1")
)

// newActualLRP returns an instance in state with every field set.
func newActualLRP(state string, ik models.ActualLRPInstanceKey) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(lrpKey, "epoch-a", 42)
	a.State = state
	a.ActualLRPInstanceKey = ik
	a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.0.1", "192.168.0.9",
		models.ActualLRPNetInfo_PreferredAddressHost,
		models.NewPortMapping(61000, 8080),
		models.NewPortMappingWithTLSProxy(61001, 2222, 61443, 8443))
	a.CrashCount = 2
	a.CrashReason = "exit 1"
	a.PlacementError = "no cell"
	a.ModificationTag.Index = 7
	a.ActualLrpInternalRoutes = []*models.ActualLRPInternalRoute{{Hostname: "app.apps.internal"}}
	a.MetricTags = map[string]string{"app_name": "web"}
	a.SetRoutable(true)
	a.AvailabilityZone = "z1"
	return a
}

// invalidFields asserts that err is a validation error matching ErrInvalidRequest and
// returns the names of the fields it names.
func invalidFields(err error) []string {
	GinkgoHelper()
	Expect(err).To(HaveOccurred())
	Expect(err).To(MatchError(models.ErrInvalidRequest))
	var ve *models.ValidationError
	Expect(errors.As(err, &ve)).To(BeTrue(), "expected a *models.ValidationError, got %T", err)
	names := make([]string, 0, len(ve.Fields))
	for _, f := range ve.Fields {
		Expect(f.Reason).NotTo(BeEmpty(), "field %s has no reason", f.Field)
		names = append(names, f.Field)
	}
	return names
}

// expectValidation asserts err against the expected invalid fields: none means valid.
func expectValidation(err error, fields []string) {
	GinkgoHelper()
	if len(fields) == 0 {
		Expect(err).NotTo(HaveOccurred())
		return
	}
	Expect(invalidFields(err)).To(ConsistOf(fields))
}

// topLevelKeys marshals v and returns the keys of the resulting JSON object, sorted.
func topLevelKeys(v any) []string {
	GinkgoHelper()
	var m map[string]jsontext.Value
	Expect(models.Unmarshal(marshal(v), &m)).To(Succeed())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// marshal is models.Marshal that fails the spec on error.
func marshal(v any) []byte {
	GinkgoHelper()
	b, err := models.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return b
}

func ptr[T any](v T) *T { return &v }
