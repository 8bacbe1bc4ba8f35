package postgres

// UseNaiveReads switches s to a plain "position > cursor" log reader.
func UseNaiveReads(s *Store) { s.naiveReads = true }
