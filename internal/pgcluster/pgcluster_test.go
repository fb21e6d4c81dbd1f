package pgcluster_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/pgcluster"
)

// binDir skips the spec when PostgreSQL is not installed (fails it when $CI is set).
func binDir() string {
	GinkgoHelper()
	bin, err := pgcluster.BinDir()
	if errors.Is(err, pgcluster.ErrNotInstalled) && os.Getenv("CI") == "" {
		Skip("PostgreSQL 15 is not installed: install it to run these specs")
	}
	Expect(err).NotTo(HaveOccurred())
	return bin
}

// setting reads one setting of the server of u.
func setting(ctx context.Context, u, name string) string {
	GinkgoHelper()
	conn, err := pgx.Connect(ctx, u)
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close(context.Background())
	var v string
	Expect(conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v)).To(Succeed())
	return v
}

var _ = Describe("a cluster", func() {
	DescribeTable("starts, makes and drops databases, and stops leaving nothing behind",
		func(durable bool, fsync string) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := pgcluster.Start(ctx, pgcluster.Options{BinDir: binDir(), Durable: durable})
			Expect(err).NotTo(HaveOccurred())
			DeferCleanup(c.Stop)
			Expect(setting(ctx, c.URL(), "fsync")).To(Equal(fsync))

			a, err := pgcluster.CreateDatabase(ctx, c.URL(), "bbs_x_")
			Expect(err).NotTo(HaveOccurred())
			b, err := pgcluster.CreateDatabase(ctx, c.URL(), "bbs_x_")
			Expect(err).NotTo(HaveOccurred())
			Expect(a.Name).To(HavePrefix("bbs_x_"))
			Expect(a.Name).NotTo(Equal(b.Name))
			Expect(setting(ctx, a.URL, "server_version_num")).NotTo(BeEmpty())

			// Drop closes what is still connected.
			conn, err := pgx.Connect(ctx, a.URL)
			Expect(err).NotTo(HaveOccurred())
			defer conn.Close(context.Background())
			Expect(a.Drop(ctx)).To(Succeed())
			Expect(a.Drop(ctx)).To(Succeed())
			_, err = pgx.Connect(ctx, a.URL)
			Expect(err).To(HaveOccurred())
			Expect(b.Drop(ctx)).To(Succeed())

			Expect(c.Stop()).To(Succeed())
			Expect(c.Stop()).To(Succeed())
			_, err = pgx.Connect(ctx, c.URL())
			Expect(err).To(HaveOccurred())
		},
		Entry("for tests: fsync off", false, "off"),
		Entry("for benchmarks: durable", true, "on"),
	)

	It("refuses a database prefix that is not a plain name", func() {
		_, err := pgcluster.CreateDatabase(context.Background(), "postgres://127.0.0.1:1/postgres", "x; DROP")
		Expect(err).To(MatchError(pgcluster.ErrInvalidPrefix))
	})
})
