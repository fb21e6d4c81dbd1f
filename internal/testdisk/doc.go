// Package testdisk gives the tests of a full disk a small file system to fill: on Linux,
// as root, a tmpfs of a given size mounted for the spec (the spec is skipped, with one line
// saying why, where mounting is not permitted), and a writer that fills it. Only tests
// import it; it starts no goroutine.
package testdisk
