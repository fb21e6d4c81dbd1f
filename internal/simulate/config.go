package simulate

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"
)

// Config describes a run. The zero value of each field means what its comment says.
type Config struct {
	// Cells is the size of the fleet; at least 1.
	Cells int
	// LRPs is how many desired LRPs the run desires at its start (1 to 3 instances each).
	LRPs int
	// Tasks is how many tasks the run desires, spread over the first two thirds of it,
	// and runs to completion (started on a cell, completed, resolved and deleted).
	Tasks int
	// CrashRate is the probability that a RUNNING instance crashes, per second; 0 means
	// none, at most 1.
	CrashRate float64
	// Duration bounds the run; 0 means until ctx is done.
	Duration time.Duration
	// DrainAfter is when the first cell starts draining (it evacuates its instances, then
	// leaves). 0 means Duration/3 (never without a Duration); negative means never.
	DrainAfter time.Duration
	// LoseAfter is when the last cell is lost (it stops refreshing its presence). 0 means
	// Duration/2 (never without a Duration); negative means never. Needs 2 cells or more.
	LoseAfter time.Duration
	// ScaleEvery is the period of the scale ups and downs of a random LRP. 0 means 1.5s;
	// negative means never.
	ScaleEvery time.Duration
	// Seed seeds the run's random choices; 0 means a random seed.
	Seed uint64
	// Prefix names everything the run makes ("PREFIX-cell-0", "PREFIX-lrp-0", ...). ""
	// means "sim-" and 6 random hex digits.
	Prefix string
	// Domain is the domain of the LRPs and tasks. "" means "simulate".
	Domain string
	// Tick is the pace of the cells and the scheduler. 0 means 200ms.
	Tick time.Duration
	// CellTTL is the TTL of the cells' presence, refreshed every third of it; at least 1s.
	// 0 means 3s.
	CellTTL time.Duration
	// Progress, when set, is called about twice a second from Run's goroutine.
	Progress func(Progress)
	// Logger receives the errors of the fleet at debug level. nil means discard.
	Logger *slog.Logger
}

// withDefaults validates c and fills its zero fields.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Cells < 1:
		return c, fmt.Errorf("%w: Cells must be at least 1, got %d", ErrInvalidConfig, c.Cells)
	case c.LRPs < 0 || c.Tasks < 0:
		return c, fmt.Errorf("%w: LRPs and Tasks must not be negative", ErrInvalidConfig)
	case c.CrashRate < 0 || c.CrashRate > 1:
		return c, fmt.Errorf("%w: CrashRate must be within [0, 1], got %v", ErrInvalidConfig, c.CrashRate)
	case c.Duration < 0 || c.Tick < 0:
		return c, fmt.Errorf("%w: Duration and Tick must not be negative", ErrInvalidConfig)
	case c.CellTTL != 0 && c.CellTTL < time.Second:
		return c, fmt.Errorf("%w: CellTTL must be at least 1s, got %v", ErrInvalidConfig, c.CellTTL)
	}
	if c.DrainAfter == 0 {
		c.DrainAfter = c.Duration / 3
		if c.Duration == 0 {
			c.DrainAfter = -1
		}
	}
	if c.LoseAfter == 0 {
		c.LoseAfter = c.Duration / 2
		if c.Duration == 0 {
			c.LoseAfter = -1
		}
	}
	if c.Cells < 2 {
		c.LoseAfter = -1
	}
	if c.ScaleEvery == 0 {
		c.ScaleEvery = 1500 * time.Millisecond
	}
	if c.Prefix == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		c.Prefix = "sim-" + hex.EncodeToString(b[:])
	}
	if c.Domain == "" {
		c.Domain = "simulate"
	}
	if c.Tick == 0 {
		c.Tick = 200 * time.Millisecond
	}
	if c.CellTTL == 0 {
		c.CellTTL = 3 * time.Second
	}
	if c.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		for _, x := range b {
			c.Seed = c.Seed<<8 | uint64(x)
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Progress is the state of a run in progress.
type Progress struct {
	Elapsed time.Duration
	// Changes is the number of changes the fleet made (successful writes).
	Changes int64
	// ChangesPerSecond is the rate of changes over the last second or so.
	ChangesPerSecond float64
	// Instances counts the run's instances by state, SUSPECT and EVACUATING ones apart
	// (as of the scheduler's last look).
	Instances map[string]int
	// CellsLive is the number of cells that refresh their presence and take work.
	CellsLive int
}

// Summary is what a run did.
type Summary struct {
	Prefix           string         `json:"prefix"`
	Seed             uint64         `json:"seed"`
	DurationSeconds  float64        `json:"duration_s"`
	Cells            int            `json:"cells"`
	LRPs             int            `json:"lrps"`
	Changes          int64          `json:"changes"`
	ChangesPerSecond float64        `json:"changes_per_s"`
	Claims           int64          `json:"claims"`
	Starts           int64          `json:"starts"`
	Crashes          int64          `json:"crashes"`
	Scales           int64          `json:"scales"`
	Evacuations      int64          `json:"evacuations"`
	Heartbeats       int64          `json:"heartbeats"`
	TasksDesired     int64          `json:"tasks_desired"`
	TasksStarted     int64          `json:"tasks_started"`
	TasksCompleted   int64          `json:"tasks_completed"`
	TasksDeleted     int64          `json:"tasks_deleted"`
	Conflicts        int64          `json:"conflicts"`
	Errors           int64          `json:"errors"`
	DrainedCell      string         `json:"drained_cell,omitempty"`
	LostCell         string         `json:"lost_cell,omitempty"`
	Instances        map[string]int `json:"instances"`
}
