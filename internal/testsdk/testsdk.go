// Package testsdk holds the SDK checks that the TLS specs of the server and of the bbs
// command share: a client with bounded calls, and a round trip of a call and a stream.
// Only tests import it; it starts no goroutine of its own but the one Works reads with.
package testsdk

import (
	"context"
	"crypto/x509"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/openbbs/bbs/client"
	"github.com/openbbs/bbs/events"
	"github.com/openbbs/bbs/models"
)

// Client is an SDK client of url whose calls and stream openings are bounded by 5 s.
func Client(url string, opts ...client.Option) client.Client {
	GinkgoHelper()
	opts = append(opts, client.WithTimeout(5*time.Second), client.WithSubscribeTimeout(5*time.Second),
		client.WithStreamConfig(events.Config{MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}))
	c, err := client.NewClient(url, opts...)
	Expect(err).NotTo(HaveOccurred())
	return c
}

// Works subscribes to the LRP stream, desires the LRP guid, lists it, and reads its
// desired_lrp_created event from the stream.
func Works(c client.Client, guid string) {
	GinkgoHelper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	Expect(c.Ping(ctx)).To(BeTrue())
	src, err := c.SubscribeToEvents(nil)
	Expect(err).NotTo(HaveOccurred())
	defer src.Close()
	Expect(c.DesireLRP(ctx, &models.DesiredLRP{ProcessGuid: guid, Domain: "apps", RootFs: "docker:///nginx", Instances: 1, MemoryMb: 64})).To(Succeed())
	lrps, err := c.DesiredLRPs(ctx, models.DesiredLRPFilter{})
	Expect(err).NotTo(HaveOccurred())
	Expect(lrps).To(HaveLen(1))
	Expect(lrps[0].ProcessGuid).To(Equal(guid))

	got := make(chan models.Event, 1)
	go func() {
		defer GinkgoRecover()
		ev, err := src.Next()
		Expect(err).NotTo(HaveOccurred())
		got <- ev
	}()
	var ev models.Event
	Eventually(got).WithTimeout(5 * time.Second).Should(Receive(&ev))
	Expect(ev.EventType()).To(Equal(models.EventTypeDesiredLRPCreated))
	Expect(ev.Key()).To(Equal(guid))
}

// CAPool is a pool of the certificates of a PEM file.
func CAPool(file string) *x509.CertPool {
	GinkgoHelper()
	pem, err := os.ReadFile(file)
	Expect(err).NotTo(HaveOccurred())
	pool := x509.NewCertPool()
	Expect(pool.AppendCertsFromPEM(pem)).To(BeTrue())
	return pool
}
