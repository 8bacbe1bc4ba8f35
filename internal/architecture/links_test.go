package architecture

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentLinksStayInTheRepository reads README.md and every document
// under docs/ and fails for a link that leaves the repository (an absolute
// path, a parent of the module root such as ../shared, a URL) or names a
// file or a heading that does not exist. A clone of the repository must be
// complete on its own.
func TestDocumentLinksStayInTheRepository(t *testing.T) {
	root := moduleRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := append([]string{filepath.Join(root, "README.md")}, docs...)
	if len(docs) == 0 {
		t.Fatal("no documents under docs/")
	}
	for _, f := range files {
		for _, bad := range badLinks(t, root, f) {
			rel, _ := filepath.Rel(root, f)
			t.Errorf("%s: %s", rel, bad)
		}
	}
}

var (
	// mdLink matches inline markdown links and images: [text](target).
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// heading matches an ATX heading line.
	heading   = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)
	notInSlug = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
)

// badLinks lists what is wrong with the links of one markdown file.
func badLinks(t *testing.T, root, file string) []string {
	t.Helper()
	text := readFile(t, file)
	var bad []string
	for _, target := range links(text) {
		if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			bad = append(bad, "link leaves the repository: "+target)
			continue
		}
		name, anchor, _ := strings.Cut(target, "#")
		dest := file
		if name != "" {
			if filepath.IsAbs(name) {
				bad = append(bad, "absolute link: "+target)
				continue
			}
			dest = filepath.Join(filepath.Dir(file), filepath.FromSlash(name))
			if rel, err := filepath.Rel(root, dest); err != nil || strings.HasPrefix(rel, "..") {
				bad = append(bad, "link leaves the repository: "+target)
				continue
			}
			if _, err := os.Stat(dest); err != nil {
				bad = append(bad, "link to a missing file: "+target)
				continue
			}
		}
		if anchor != "" {
			if !strings.HasSuffix(dest, ".md") {
				bad = append(bad, "anchor into a file that is not markdown: "+target)
			} else if !anchors(readFile(t, dest))[anchor] {
				bad = append(bad, "link to a missing heading: "+target)
			}
		}
	}
	return bad
}

// links returns the link targets of text outside fenced code blocks and
// inline code.
func links(text string) []string {
	var out []string
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(stripInlineCode(line), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// stripInlineCode removes `code spans` from a line.
func stripInlineCode(line string) string {
	parts := strings.Split(line, "`")
	var b strings.Builder
	for i, p := range parts {
		if i%2 == 0 {
			b.WriteString(p)
		}
	}
	return b.String()
}

// anchors returns the heading anchors of a markdown text, spelled as
// GitHub spells them: lower case, punctuation dropped, spaces to hyphens,
// repeats numbered -1, -2, ...
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		m := heading.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		slug := strings.ReplaceAll(notInSlug.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		if n := seen[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// readFile returns a file's text or fails the test.
func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// moduleRoot finds the directory holding go.mod, walking up from the
// test's working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
