package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/models"
)

func benchOpen(b *testing.B, path string) store.Store {
	b.Helper()
	s, err := store.OpenSQLite(context.Background(), path, store.Options{OnCommit: func([]store.Record) {}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// benchActual is a running instance as a cell reports it.
func benchActual(guid string, index int32) *models.ActualLRP {
	a := models.NewUnclaimedActualLRP(models.NewActualLRPKey(guid, index, "cf-apps"), "f4b0e2c8-epoch", 1_700_000_000_000_000_000)
	a.State = models.ActualLRPStateRunning
	a.ActualLRPInstanceKey = models.NewActualLRPInstanceKey("5c1f2d0e-7a4b-4c3e-9d8f-1a2b3c4d5e6f", "cell-z1-0042")
	a.ActualLRPNetInfo = models.NewActualLRPNetInfo("10.0.16.42", "10.255.12.7", models.ActualLRPNetInfo_PreferredAddressUnknown,
		models.NewPortMapping(61012, 8080),
		models.NewPortMapping(61013, 2222))
	a.ModificationTag.Index = 7
	return a
}

// BenchmarkUpdate measures committed changes per second: each Update puts one ActualLRP and
// appends one actual_lrp_changed event, from 1 or 64 concurrent writers.
func BenchmarkUpdate(b *testing.B) {
	for _, mode := range []string{"file", "memory"} {
		for _, writers := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", mode, writers), func(b *testing.B) {
				path := store.MemoryPath
				if mode == "file" {
					path = filepath.Join(b.TempDir(), "bbs.db")
				}
				s := benchOpen(b, path)
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Value
				b.ResetTimer()
				for w := range writers {
					wg.Go(func() {
						for {
							i := next.Add(1)
							if i > int64(b.N) {
								return
							}
							before := benchActual(fmt.Sprintf("pg-%d", w), int32(i%100))
							after := before.Copy()
							after.ModificationTag.Index++
							_, err := s.Update(context.Background(), func(tx store.Tx) error {
								if err := tx.PutActualLRP(after); err != nil {
									return err
								}
								return tx.Append(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup()))
							})
							if err != nil {
								failed.Store(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if err := failed.Load(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
			})
		}
	}
}

// BenchmarkReadLog measures catch-up reads: pages of 1000 records of ~1 KiB payloads.
func BenchmarkReadLog(b *testing.B) {
	const records = 20000
	s := benchOpen(b, filepath.Join(b.TempDir(), "bbs.db"))
	padding := strings.Repeat("x", 62)
	for batch := 0; batch < records; batch += 1000 {
		_, err := s.Update(context.Background(), func(tx store.Tx) error {
			for i := range 1000 {
				before := benchActual(fmt.Sprintf("pg-%d", batch+i), 0)
				before.CrashReason = padding
				after := before.Copy()
				after.ModificationTag.Index++
				if err := tx.Append(models.NewActualLRPChangedEvent(before.ToActualLRPGroup(), after.ToActualLRPGroup())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	recs, err := s.ReadLog(context.Background(), 0, 1)
	if err != nil || len(recs) != 1 {
		b.Fatal(err, len(recs))
	}
	payload := len(recs[0].Payload)

	b.ResetTimer()
	read := 0
	for b.Loop() {
		after := uint64(0)
		for {
			page, err := s.ReadLog(context.Background(), after, 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			read += len(page)
			after = page[len(page)-1].Seq
		}
	}
	b.StopTimer()
	if read%records != 0 {
		b.Fatalf("read %d records, not a multiple of %d", read, records)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(payload), "payload-bytes")
}
