package store

// ReplyStr returns element i of a Lua script's array reply as a string;
// "" when it is missing or not a string.
func ReplyStr(res []any, i int) string {
	if i >= len(res) {
		return ""
	}
	v, _ := res[i].(string)
	return v
}

// ReplyInt returns element i of a Lua script's array reply as an integer;
// 0 when it is missing or not an integer.
func ReplyInt(res []any, i int) int64 {
	if i >= len(res) {
		return 0
	}
	v, _ := res[i].(int64)
	return v
}
