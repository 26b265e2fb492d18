package origin

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
)

// compilePortable compiles a rewrite expression after checking that it stays
// inside the syntax that Go and JavaScript read the same way (see Rewrite).
func compilePortable(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, errors.New("must not be empty")
	}
	if len(expr) > maxRewritePattern {
		return nil, fmt.Errorf("longer than %d bytes", maxRewritePattern)
	}
	if err := checkPortable(expr); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	parsed, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	if nullable(parsed) {
		return nil, fmt.Errorf("%q can match the empty string", expr)
	}
	return re, nil
}

// checkPortable is a small lexer over the expression that refuses every
// construct outside the portable subset.
func checkPortable(expr string) error {
	inClass := false
	classStart := 0 // index of the first byte inside the current class
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		if c >= 0x80 || c < 0x20 || c == 0x7f {
			return fmt.Errorf("byte %#x at offset %d: only printable ASCII is allowed", c, i)
		}
		switch {
		case c == '\\':
			if i+1 >= len(expr) {
				return errors.New("trailing backslash")
			}
			e := expr[i+1]
			switch {
			case e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S':
			case (e == 'b' || e == 'B') && !inClass:
			case isPunct(e):
			default:
				return fmt.Errorf("escape \\%c at offset %d is not portable", e, i)
			}
			i++
		case inClass:
			switch c {
			case ']':
				if i == classStart {
					return fmt.Errorf("']' at offset %d: a class cannot start with ']' (escape it)", i)
				}
				inClass = false
			case '[':
				if i+1 < len(expr) && (expr[i+1] == ':' || expr[i+1] == '.' || expr[i+1] == '=') {
					return fmt.Errorf("POSIX class at offset %d is not portable", i)
				}
			}
		case c == '[':
			inClass = true
			classStart = i + 1
			if classStart < len(expr) && expr[classStart] == '^' {
				classStart++
			}
		case c == '(':
			if i+1 < len(expr) && expr[i+1] == '?' {
				if i+2 >= len(expr) || expr[i+2] != ':' {
					return fmt.Errorf("group syntax (?%s at offset %d is not portable: use (...) or (?:...)", snippet(expr, i+2), i)
				}
			}
		}
	}
	if inClass {
		return errors.New("unterminated character class")
	}
	return nil
}

func snippet(s string, i int) string {
	if i >= len(s) {
		return ""
	}
	return s[i : i+1]
}

func isPunct(c byte) bool {
	switch c {
	case '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\', '/', '-':
		return true
	}
	return false
}

// nullable reports whether re can match the empty string somewhere
// (assertions are treated as matching).
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpNoMatch:
		return false
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText,
		syntax.OpEndText, syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return false
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if !nullable(s) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if nullable(s) {
				return true
			}
		}
		return false
	}
	return true
}

// checkReplacement accepts literal text with ${N} (N <= groups) and $$.
func checkReplacement(repl string, groups int) error {
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' {
			continue
		}
		if i+1 < len(repl) && repl[i+1] == '$' {
			i++
			continue
		}
		if i+1 >= len(repl) || repl[i+1] != '{' {
			return fmt.Errorf("'$' at offset %d: write ${N} for a group or $$ for a dollar sign", i)
		}
		end := i + 2
		for end < len(repl) && '0' <= repl[end] && repl[end] <= '9' {
			end++
		}
		if end == i+2 || end >= len(repl) || repl[end] != '}' || end-(i+2) > 3 ||
			(repl[i+2] == '0' && end-(i+2) > 1) {
			return fmt.Errorf("'$' at offset %d: write ${N} for a group or $$ for a dollar sign", i)
		}
		n, _ := strconv.Atoi(repl[i+2 : end])
		if n > groups {
			return fmt.Errorf("${%d}: the expression has %d groups", n, groups)
		}
		i = end
	}
	return nil
}
