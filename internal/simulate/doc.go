// Package simulate plays a fleet of Diego-like cells against a real server through the
// Go SDK (package client), to exercise it and to watch its event streams move: cells
// register and keep their presence, claim and start the instances a scheduler places on
// them, crash some, run tasks to completion; LRPs are scaled up and down, one cell drains
// (BBS's evacuation calls, as a rep does when it drains) and another is lost (it stops
// refreshing its presence, so the server marks its instances SUSPECT and replaces them).
//
// Run owns every goroutine it starts: one per cell, one scheduler (placement, task
// resolution, the instance counts) and one driver (scaling, drain and loss on schedule).
// They stop when the run's Duration has passed or its ctx is done, and Run waits for all
// of them before it returns its Summary. Config.Progress is called from Run's goroutine,
// never concurrently. Everything the run makes is named after Config.Prefix, so runs
// against one server do not collide.
//
// Conflicts are expected (a scheduler and a cell racing on an instance, an instance
// removed by a scale down while a cell starts it): a 404 or 409 answer counts as a
// conflict and the fleet goes on; other errors are counted as errors, and Run fails only
// when the fleet cannot be set up at all.
package simulate
