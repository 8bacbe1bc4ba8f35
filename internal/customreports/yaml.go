package customreports

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"gopkg.in/yaml.v3"
)

// ParseYAML reads a definition written as YAML (the CLI's format): the
// same fields as the JSON, unknown fields refused.
func ParseYAML(b []byte) (Definition, error) {
	var d Definition
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return d, errors.New("the file is empty")
		}
		return d, fmt.Errorf("not a report definition: %w", err)
	}
	return d, nil
}
