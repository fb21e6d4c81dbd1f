package fakeserver_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestFakeServer(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "FakeServer Suite")
}
