package console

// Translated reports whether a message has its Simplified Chinese text.
func Translated(msg string) bool {
	_, ok := zhHans[msg]
	return ok
}
