package configdoc

import (
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// ExampleKeys lists the key paths an example configuration mentions, set or
// commented out, in the same form as Key.Path (providers[].ldap.urls).
//
// A commented-out key is a comment line whose text, after "# ", is the key
// at the indentation it would have once uncommented:
//
//	session:
//	  # secret_file: /etc/qlikgate/session.secret
//
// Prose comments that happen to start with "word:" add paths that match no
// key, which is harmless: the list is only searched for keys.
func ExampleKeys(data []byte) map[string]bool {
	out := map[string]bool{}
	type open struct {
		indent int
		path   string
	}
	var stack []open
	parent := func(indent int) string {
		for len(stack) > 0 && stack[len(stack)-1].indent >= indent {
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return ""
		}
		return stack[len(stack)-1].path
	}
	for _, line := range strings.Split(string(data), "\n") {
		text := strings.TrimLeft(line, " ")
		indent := len(line) - len(text)
		if rest, ok := strings.CutPrefix(text, "#"); ok {
			rest = strings.TrimPrefix(rest, " ")
			inner := strings.TrimLeft(rest, " ")
			indent += len(rest) - len(inner)
			text = inner
		}
		if item, ok := strings.CutPrefix(text, "- "); ok {
			p := parent(indent)
			stack = append(stack, open{indent, p + "[]"})
			indent, text = indent+2, item
		}
		m := keyLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		path := join(parent(indent), m[1])
		out[path] = true
		stack = append(stack, open{indent, path})
		flowKeys(path, m[2], out)
	}
	return out
}

var keyLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?$`)

// flowKeys adds the keys of a flow mapping value ({ username: x, … }).
func flowKeys(path, value string, out map[string]bool) {
	if !strings.HasPrefix(value, "{") && !strings.HasPrefix(value, "[{") && !strings.HasPrefix(value, "[ {") {
		return
	}
	var n yaml.Node
	if yaml.Unmarshal([]byte(value), &n) != nil || len(n.Content) == 0 {
		return
	}
	nodeKeys(path, n.Content[0], out)
}

func nodeKeys(path string, n *yaml.Node, out map[string]bool) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := join(path, n.Content[i].Value)
			out[p] = true
			nodeKeys(p, n.Content[i+1], out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			nodeKeys(path+"[]", c, out)
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
