package models

// DecodeFast exposes the fast path of DecodeEvent to the black-box tests.
var DecodeFast = decodeFast
