package accounts

import "time"

// MOPart is one part of a concatenated reply.
type MOPart struct {
	From, To   string
	Ref        uint16
	Total, Seq int
	Coding     uint8
	Body       []byte
}

// MOAssembly is a concatenated reply's parts: all of them when complete.
type MOAssembly struct {
	From, To string
	Ref      uint16
	Total    int
	Coding   uint8
	Parts    map[int][]byte // by seq, 1..Total
	FirstAt  time.Time
}

// Joined returns the parts' bodies in order and whether any is missing.
func (a *MOAssembly) Joined() (body []byte, missing []int) {
	for i := 1; i <= a.Total; i++ {
		p, ok := a.Parts[i]
		if !ok {
			missing = append(missing, i)
			continue
		}
		body = append(body, p...)
	}
	return body, missing
}
