package auth_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/auth"
)

var _ = Describe("scopes", func() {
	DescribeTable("parse",
		func(list string, want auth.Scopes) {
			Expect(auth.ParseScopes(list, ",")).To(Equal(want))
		},
		Entry("read", "read", auth.Scopes{Read: true}),
		Entry("write implies read", "write", auth.Scopes{Read: true, Write: true}),
		Entry("a cell", "cell:cell-1", auth.Scopes{Cell: "cell-1"}),
		Entry("a cell that also reads", "read,cell:c", auth.Scopes{Read: true, Cell: "c"}),
	)
	DescribeTable("refuse",
		func(list string) {
			_, err := auth.ParseScopes(list, ",")
			Expect(err).To(HaveOccurred())
		},
		Entry("nothing", ""),
		Entry("an unknown scope", "admin"),
		Entry("a bad cell id", "cell:a b"),
		Entry("two cells", "cell:a,cell:b"),
	)
})

var _ = Describe("Authenticator", func() {
	write := func(body string) string {
		p := filepath.Join(GinkgoT().TempDir(), "tokens")
		Expect(os.WriteFile(p, []byte(body), 0o600)).To(Succeed())
		return p
	}

	It("is off without files", func() {
		a, err := auth.New(auth.Config{})
		Expect(err).NotTo(HaveOccurred())
		Expect(a).To(BeNil())
	})

	DescribeTable("refuses a bad tokens file, naming the line",
		func(body, want string) {
			_, err := auth.New(auth.Config{TokensFile: write(body)})
			Expect(err).To(MatchError(auth.ErrConfig))
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("one field", "# c\ntoken-token-token-1\n", "line 2"),
		Entry("a short token", "short read\n", "at least 16"),
		Entry("a bad scope", "token-token-token-1 root\n", "unknown scope"),
		Entry("a token twice", "token-token-token-1 read\ntoken-token-token-1 write\n", "twice"),
		Entry("too many fields", "token-token-token-1 read a b\n", "TOKEN SCOPES"),
	)

	It("authenticates header tokens, and query tokens only where allowed", func() {
		a, err := auth.New(auth.Config{TokensFile: write("token-token-token-1 read,cell:c1 rep\n")})
		Expect(err).NotTo(HaveOccurred())
		r := httptest.NewRequest("GET", "/v1/events?access_token=token-token-token-1", nil)
		_, err = a.Authenticate(r, false)
		Expect(err).To(MatchError(auth.ErrNoCredentials))
		p, err := a.Authenticate(r, true)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.Name).To(Equal("rep"))
		Expect(p.Scopes).To(Equal(auth.Scopes{Read: true, Cell: "c1"}))
		r.Header.Set("Authorization", "Bearer other-token-token-1")
		_, err = a.Authenticate(r, true)
		Expect(err).To(MatchError(auth.ErrBadCredentials), "the header wins")
	})

	It("ends a watch when its token goes, and one at once for a token already gone", func() {
		path := write("token-token-token-1 read\ntoken-token-token-2 read\n")
		a, err := auth.New(auth.Config{TokensFile: path, Reload: 10 * time.Millisecond})
		Expect(err).NotTo(HaveOccurred())
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer token-token-token-1")
		p, err := a.Authenticate(r, false)
		Expect(err).NotTo(HaveOccurred())
		ended, stop := a.Watch(p)
		defer stop()
		Expect(os.WriteFile(path, []byte("token-token-token-2 read\n"), 0o600)).To(Succeed())
		ctx := GinkgoT().Context()
		go a.Run(ctx)
		Eventually(ended, 2*time.Second).Should(Receive(Equal(auth.ReasonUnauthorized)))
		again, stop2 := a.Watch(p)
		defer stop2()
		Eventually(again).Should(Receive(Equal(auth.ReasonUnauthorized)))
	})
})
