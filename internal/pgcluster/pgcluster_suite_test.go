package pgcluster_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestPgcluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Pgcluster Suite")
}
