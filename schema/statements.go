package schema

import (
	"fmt"
	"strings"
)

// splitStatements cuts SQL into its statements, each with the comments that
// lead up to it and its closing semicolon, for tools that run one statement
// at a time (goose needs every plpgsql body marked as one statement). It
// knows PostgreSQL's quoting: a semicolon inside a comment, a string, a quoted
// identifier or a dollar-quoted body does not end a statement. Comments after
// the last statement are returned as trailing; anything else there is an
// error, as is an unterminated quote.
func splitStatements(sql string) (stmts []string, trailing string, err error) {
	start := 0
	for i := 0; i < len(sql); {
		switch c := sql[i]; {
		case c == '-' && strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 1
			}
		case c == '/' && strings.HasPrefix(sql[i:], "/*"):
			if i, err = skipBlockComment(sql, i); err != nil {
				return nil, "", err
			}
		case c == '\'':
			escapes := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentChar(sql[i-2]))
			if i, err = skipQuoted(sql, i, '\'', escapes); err != nil {
				return nil, "", err
			}
		case c == '"':
			if i, err = skipQuoted(sql, i, '"', false); err != nil {
				return nil, "", err
			}
		case c == '$' && (i == 0 || !isIdentChar(sql[i-1])):
			if i, err = skipDollarQuoted(sql, i); err != nil {
				return nil, "", err
			}
		case c == ';':
			i++
			stmts = append(stmts, strings.TrimSpace(sql[start:i]))
			start = i
		default:
			i++
		}
	}
	trailing = strings.TrimSpace(sql[start:])
	for _, line := range strings.Split(trailing, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "--") {
			return nil, "", fmt.Errorf("schema: SQL after the last semicolon: %q", line)
		}
	}
	return stmts, trailing, nil
}

// skipBlockComment returns the index after the /* … */ comment at i;
// PostgreSQL's block comments nest.
func skipBlockComment(sql string, i int) (int, error) {
	depth := 0
	for i < len(sql) {
		switch {
		case strings.HasPrefix(sql[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(sql[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i, nil
			}
		default:
			i++
		}
	}
	return 0, fmt.Errorf("schema: unterminated /* comment")
}

// skipQuoted returns the index after the string or identifier that opens with
// quote at i. A doubled quote stands for itself; with escapes (an E'…'
// string) so does a backslash-escaped character.
func skipQuoted(sql string, i int, quote byte, escapes bool) (int, error) {
	for i++; i < len(sql); i++ {
		switch {
		case escapes && sql[i] == '\\':
			i++
		case sql[i] == quote && i+1 < len(sql) && sql[i+1] == quote:
			i++
		case sql[i] == quote:
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("schema: unterminated %c quote", quote)
}

// skipDollarQuoted returns the index after the $tag$ … $tag$ body at i, or
// i+1 when the $ opens no body (a parameter such as $1).
func skipDollarQuoted(sql string, i int) (int, error) {
	j := i + 1
	for j < len(sql) && isIdentChar(sql[j]) && !(j == i+1 && sql[j] >= '0' && sql[j] <= '9') {
		j++
	}
	if j >= len(sql) || sql[j] != '$' {
		return i + 1, nil
	}
	tag := sql[i : j+1]
	end := strings.Index(sql[j+1:], tag)
	if end < 0 {
		return 0, fmt.Errorf("schema: unterminated %s body", tag)
	}
	return j + 1 + end + len(tag), nil
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
