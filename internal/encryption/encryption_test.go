package encryption_test

import (
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/internal/encryption"
)

func mustKey(spec string) encryption.Key {
	GinkgoHelper()
	k, err := encryption.ParseKey(spec)
	Expect(err).NotTo(HaveOccurred())
	return k
}

func mustRing(active string, specs ...string) *encryption.KeyRing {
	GinkgoHelper()
	r, err := encryption.ParseKeyRing(specs, active)
	Expect(err).NotTo(HaveOccurred())
	return r
}

var _ = Describe("Keys", func() {
	DescribeTable("refuse a bad LABEL:PASSPHRASE without echoing the passphrase",
		func(spec string, want error) {
			_, err := encryption.ParseKey(spec)
			Expect(err).To(MatchError(want))
			if _, pass, ok := strings.Cut(spec, ":"); ok && pass != "" {
				Expect(err.Error()).NotTo(ContainSubstring(pass))
			}
			Expect(err.Error()).NotTo(ContainSubstring("hunter2"))
		},
		Entry("no colon", "hunter2", encryption.ErrInvalidKey),
		Entry("an empty label", ":hunter2", encryption.ErrInvalidKey),
		Entry("an empty passphrase", "k1:", encryption.ErrInvalidKey),
		Entry("a label too long", strings.Repeat("l", 128)+":hunter2", encryption.ErrInvalidKey),
		Entry("a label that is not UTF-8", "k\xff:hunter2", encryption.ErrInvalidKey),
	)

	It("splits at the first colon: the passphrase may hold colons", func() {
		k := mustKey("k1:pass:with:colons")
		Expect(k.Label()).To(Equal("k1"))
		same, err := encryption.NewKey("k1", "pass:with:colons")
		Expect(err).NotTo(HaveOccurred())
		Expect(k.Equal(same)).To(BeTrue())
		Expect(k.Equal(mustKey("k1:other"))).To(BeFalse())
		Expect(k.Equal(mustKey("k2:pass:with:colons"))).To(BeFalse())
	})

	It("derives the key from the passphrase alone, as BBS does (SHA-256)", func() {
		a := mustRing("", "k1:correct horse")
		b := mustRing("", "k1:correct horse")
		v, err := a.Encrypt("s3cret")
		Expect(err).NotTo(HaveOccurred())
		Expect(b.Decrypt(v)).To(Equal("s3cret"))
	})
})

var _ = Describe("KeyRing", func() {
	DescribeTable("refuses a bad ring",
		func(want error, active string, specs ...string) {
			_, err := encryption.ParseKeyRing(specs, active)
			Expect(err).To(MatchError(want))
		},
		Entry("no keys", encryption.ErrNoKeys, ""),
		Entry("an unknown active label", encryption.ErrUnknownActiveKey, "k3", "k1:a", "k2:b"),
		Entry("several keys and no active label", encryption.ErrUnknownActiveKey, "", "k1:a", "k2:b"),
		Entry("two keys of one label", encryption.ErrDuplicateLabel, "k1", "k1:a", "k1:b"),
		Entry("a bad key", encryption.ErrInvalidKey, "k1", "k1:a", "k2"),
	)

	It("makes the only key active, and takes the same key twice", func() {
		Expect(mustRing("", "k1:a").ActiveLabel()).To(Equal("k1"))
		r := mustRing("k2", "k1:a", "k2:b", "k1:a")
		Expect(r.ActiveLabel()).To(Equal("k2"))
		Expect(r.Labels()).To(Equal([]string{"k1", "k2"}))
		Expect(r.Has("k1")).To(BeTrue())
		Expect(r.Has("k3")).To(BeFalse())
	})

	It("encrypts with the active key under a fresh nonce, in the documented form", func() {
		r := mustRing("k2", "k1:a", "k2:b")
		v1, err := r.Encrypt("s3cret")
		Expect(err).NotTo(HaveOccurred())
		v2, err := r.Encrypt("s3cret")
		Expect(err).NotTo(HaveOccurred())
		Expect(v1).NotTo(Equal(v2))
		Expect(v1).To(HavePrefix("enc:v1:k2:"))
		Expect(v1).NotTo(ContainSubstring("s3cret"))
		Expect(encryption.IsEncrypted(v1)).To(BeTrue())
		label, ok := encryption.LabelOf(v1)
		Expect(ok).To(BeTrue())
		Expect(label).To(Equal("k2"))
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v1, "enc:v1:k2:"))
		Expect(err).NotTo(HaveOccurred())
		Expect(raw).To(HaveLen(12+len("s3cret")+16), "nonce, ciphertext, tag")
		Expect(r.Decrypt(v1)).To(Equal("s3cret"))
	})

	It("decrypts with any key of the ring, and names an unknown label", func() {
		old := mustRing("", "k1:a")
		v, err := old.Encrypt("s3cret")
		Expect(err).NotTo(HaveOccurred())
		Expect(mustRing("k2", "k1:a", "k2:b").Decrypt(v)).To(Equal("s3cret"))
		_, err = mustRing("", "k2:b").Decrypt(v)
		Expect(err).To(MatchError(encryption.ErrUnknownKey))
		Expect(err.Error()).To(ContainSubstring(`"k1"`))
	})

	It("refuses a wrong passphrase, an altered value and a malformed one", func() {
		r := mustRing("", "k1:a")
		v, err := r.Encrypt("s3cret")
		Expect(err).NotTo(HaveOccurred())
		_, err = mustRing("", "k1:not-a").Decrypt(v)
		Expect(err).To(MatchError(encryption.ErrDecrypt))

		raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, "enc:v1:k1:"))
		raw[len(raw)-1] ^= 1
		_, err = r.Decrypt("enc:v1:k1:" + base64.StdEncoding.EncodeToString(raw))
		Expect(err).To(MatchError(encryption.ErrDecrypt))

		for _, bad := range []string{"s3cret", "", "enc:v1:", "enc:v1:k1", "enc:v1::AAAA", "enc:v1:k1:***", "enc:v1:k1:AAAA"} {
			_, err = r.Decrypt(bad)
			Expect(err).To(MatchError(encryption.ErrDecrypt), bad)
		}
		Expect(encryption.IsEncrypted("s3cret")).To(BeFalse())
		Expect(encryption.IsEncrypted("enc:v1:k1")).To(BeFalse())
	})

	It("adds a key as inactive with With", func() {
		r := mustRing("", "k2:b")
		r2, err := r.With(mustKey("k1:a"))
		Expect(err).NotTo(HaveOccurred())
		Expect(r2.ActiveLabel()).To(Equal("k2"))
		Expect(r2.Labels()).To(Equal([]string{"k1", "k2"}))
		Expect(r.Labels()).To(Equal([]string{"k2"}), "the ring itself is unchanged")
		Expect(r.With(mustKey("k2:b"))).To(BeIdenticalTo(r))
		_, err = r.With(mustKey("k2:c"))
		Expect(err).To(MatchError(encryption.ErrDuplicateLabel))
	})
})

var _ = Describe("Key files", func() {
	var path string

	BeforeEach(func() {
		path = filepath.Join(GinkgoT().TempDir(), "bbs.db-key")
	})

	It("creates a 32-byte key file readable by its owner only, and loads it back", func() {
		k, err := encryption.CreateKeyFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(k.Label()).To(Equal(encryption.KeyFileLabel))
		info, err := os.Stat(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(fs.FileMode(0o600)))
		Expect(info.Size()).To(Equal(int64(32)))
		entries, err := os.ReadDir(filepath.Dir(path))
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1), "no temporary file is left")

		loaded, err := encryption.LoadKeyFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(loaded.Equal(k)).To(BeTrue())
	})

	It("never replaces an existing key file", func() {
		k, err := encryption.CreateKeyFile(path)
		Expect(err).NotTo(HaveOccurred())
		_, err = encryption.CreateKeyFile(path)
		Expect(err).To(MatchError(fs.ErrExist))
		loaded, err := encryption.LoadKeyFile(path)
		Expect(err).NotTo(HaveOccurred())
		Expect(loaded.Equal(k)).To(BeTrue())
	})

	It("reports a missing file and refuses one of the wrong size", func() {
		_, err := encryption.LoadKeyFile(path)
		Expect(err).To(MatchError(fs.ErrNotExist))
		Expect(os.WriteFile(path, []byte("short"), 0o600)).To(Succeed())
		_, err = encryption.LoadKeyFile(path)
		Expect(err).To(MatchError(encryption.ErrInvalidKey))
	})

	It("makes random in-memory keys", func() {
		a, err := encryption.NewRandomKey()
		Expect(err).NotTo(HaveOccurred())
		b, err := encryption.NewRandomKey()
		Expect(err).NotTo(HaveOccurred())
		Expect(a.Equal(b)).To(BeFalse())
	})
})

// FuzzDecrypt: a value read from a database never panics the ring, and what Encrypt
// makes always decrypts.
func FuzzDecrypt(f *testing.F) {
	r, err := encryption.ParseKeyRing([]string{"k1:a", "k2:b"}, "k1")
	if err != nil {
		f.Fatal(err)
	}
	v, _ := r.Encrypt("s3cret")
	f.Add(v)
	f.Add("enc:v1:k2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("enc:v1:k3:")
	f.Add("plain")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = r.Decrypt(s)
		enc, err := r.Encrypt(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.Decrypt(enc)
		if err != nil || got != s {
			t.Fatalf("round trip of %q: %q, %v", s, got, err)
		}
	})
}
