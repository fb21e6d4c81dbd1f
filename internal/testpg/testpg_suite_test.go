package testpg_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/testpg"
)

func TestTestpg(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Testpg Suite")
}

var _ = AfterSuite(testpg.Stop)

var _ = Describe("Database", func() {
	It("gives each spec a new empty database", func() {
		a, b := testpg.Database(), testpg.Database()
		Expect(a).NotTo(Equal(b))
		for _, u := range []string{a, b} {
			conn, err := pgx.Connect(context.Background(), u)
			Expect(err).NotTo(HaveOccurred())
			var n int
			Expect(conn.QueryRow(context.Background(),
				`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n)).To(Succeed())
			Expect(n).To(BeZero())
			Expect(conn.Close(context.Background())).To(Succeed())
		}
	})
})
