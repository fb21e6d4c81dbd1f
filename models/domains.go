package models

// DomainSet is a set of domain names, as BBS's consumers keep the fresh domains.
type DomainSet map[string]struct{}

// NewDomainSet returns the set of the given domains.
func NewDomainSet(domains []string) DomainSet {
	s := make(DomainSet, len(domains))
	for _, d := range domains {
		s.Add(d)
	}
	return s
}

// Add puts domain in the set.
func (s DomainSet) Add(domain string) { s[domain] = struct{}{} }

// Contains reports whether domain is in the set.
func (s DomainSet) Contains(domain string) bool {
	_, ok := s[domain]
	return ok
}

// Each calls f with every domain of the set, in no particular order.
func (s DomainSet) Each(f func(domain string)) {
	for d := range s {
		f(d)
	}
}
