package store_test

import (
	"context"
	neturl "net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/encryption"
	"github.com/openbbs/bbs/internal/store"
	"github.com/openbbs/bbs/internal/testpg"
	"github.com/openbbs/bbs/models"
)

// pgExec runs statements on a connection of its own to url.
func pgExec(url string, stmts ...string) {
	GinkgoHelper()
	conn, err := pgx.Connect(context.Background(), url)
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close(context.Background())
	for _, st := range stmts {
		_, err := conn.Exec(context.Background(), st)
		Expect(err).NotTo(HaveOccurred(), st)
	}
}

// pgQuery returns the one text column of the rows of a query on url.
func pgQuery(url, query string) []string {
	GinkgoHelper()
	conn, err := pgx.Connect(context.Background(), url)
	Expect(err).NotTo(HaveOccurred())
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), query)
	Expect(err).NotTo(HaveOccurred())
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	Expect(err).NotTo(HaveOccurred())
	return out
}

var _ = Describe("A PostgreSQL store", func() {
	var url string

	BeforeEach(func() {
		url = testpg.Database()
	})

	open := func(keys *encryption.KeyRing) (store.Store, error) {
		return store.Open(context.Background(), url, store.Options{Keys: keys})
	}

	It("keeps state, log, head and identity across a reopen, and never reuses a trimmed sequence", func() {
		s, err := open(testKeys)
		Expect(err).NotTo(HaveOccurred())
		Expect(desireN(s, 1)).To(Succeed())
		Expect(desireN(s, 2)).To(Succeed())
		id := s.ID()
		Expect(s.Trim(context.Background(), time.Now().Add(time.Hour))).To(Equal(1))
		pgExec(url, `DELETE FROM events`)
		Expect(s.Close()).To(Succeed())

		s = openStore(url, store.Options{})
		Expect(s.ID()).To(Equal(id))
		Expect(bounds(s)).To(Equal([2]uint64{3, 2}))
		Expect(seqs(appendEvents(s, 1))).To(Equal([]uint64{3}))
		view(s, func(tx store.ReadTx) error {
			Expect(tx.DesiredLRPs(models.DesiredLRPFilter{})).To(HaveLen(2))
			return nil
		})
	})

	It("needs a key ring, and refuses a database of a newer schema", func() {
		_, err := open(nil)
		Expect(err).To(MatchError(store.ErrInvalidOption))
		openStore(url, store.Options{}).Close()
		pgExec(url, `UPDATE meta SET value = '99' WHERE key = 'schema_version'`)
		_, err = open(testKeys)
		Expect(err).To(MatchError(store.ErrUnsupportedSchema))
	})

	It("re-encrypts the secrets under the new active key at open, and refuses a wrong passphrase or a ring without the key", func() {
		s, err := open(ring("k1", "k1:one"))
		Expect(err).NotTo(HaveOccurred())
		d := desiredLRP("pg-1", "d1")
		d.ImagePassword = lrpPassword
		update(s, func(tx store.Tx) error { return tx.InsertDesiredLRP(d) })
		Expect(s.Close()).To(Succeed())
		Expect(pgQuery(url, `SELECT convert_from(data, 'UTF8') FROM desired_lrps`)).To(ConsistOf(
			And(ContainSubstring("enc:v1:k1:"), Not(ContainSubstring(lrpPassword)))))

		s, err = open(ring("k2", "k1:one", "k2:two"))
		Expect(err).NotTo(HaveOccurred())
		Expect(s.Close()).To(Succeed())
		Expect(pgQuery(url, `SELECT convert_from(data, 'UTF8') FROM desired_lrps`)).To(ConsistOf(ContainSubstring("enc:v1:k2:")))

		_, err = open(ring("k2", "k2:wrong"))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("wrong passphrase"))
		s, err = open(ring("k2", "k2:two"))
		Expect(err).NotTo(HaveOccurred())
		view(s, func(tx store.ReadTx) error {
			got, err := tx.DesiredLRP("pg-1")
			Expect(err).NotTo(HaveOccurred())
			Expect(got.ImagePassword).To(Equal(lrpPassword))
			return nil
		})
		Expect(s.Close()).To(Succeed())
		pgExec(url, `DELETE FROM meta WHERE key = 'secrets_key_check'`)
		_, err = open(ring("k3", "k3:three"))
		Expect(err).To(MatchError(encryption.ErrUnknownKey))
	})

	It("refuses writes while the database is read-only, says so in Writable, and recovers by itself", func() {
		s := openStore(url, store.Options{ProbeInterval: 50 * time.Millisecond})
		Expect(desireN(s, 1)).To(Succeed())
		u, err := neturl.Parse(url)
		Expect(err).NotTo(HaveOccurred())
		name := strings.TrimPrefix(u.Path, "/")
		readOnly := func(on bool) {
			v := map[bool]string{true: "on", false: "off"}[on]
			pgExec(url, `SET default_transaction_read_only = off`, `ALTER DATABASE `+name+` SET default_transaction_read_only = `+v,
				`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		}
		readOnly(true)
		err = desireN(s, 2)
		Expect(err).To(MatchError(store.ErrUnwritable))
		Expect(s.Writable()).To(MatchError(store.ErrUnwritable))

		readOnly(false)
		Eventually(s.Writable).Within(5 * time.Second).Should(Succeed())
		Expect(desireN(s, 3)).To(Succeed())
		expectLogMatchesState(s)
	})
})
