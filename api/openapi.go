package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
)

// The OpenAPI document is kept in the repository as a base (openapi.json:
// info, the routes of the areas without a fragment, shared schemas) and one
// fragment per area (openapi/<area>.json: its paths and schemas), merged
// once when the handler is built and served whole at /v1/openapi.json.
var (
	//go:embed openapi.json
	openapiBase []byte
	//go:embed openapi/*.json
	openapiParts embed.FS
)

// buildOpenAPI merges the fragments' paths and component schemas into the
// base document. A path in two places is an error, so that no area silently
// replaces another's route.
func buildOpenAPI() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openapiBase, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	paths := objectAt(doc, "paths")
	schemas := objectAt(objectAt(doc, "components"), "schemas")
	files, err := fs.Glob(openapiParts, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := openapiParts.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var part map[string]any
		if err := json.Unmarshal(b, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for p, ops := range objectAt(part, "paths") {
			if cur, ok := paths[p].(map[string]any); ok {
				for m, op := range ops.(map[string]any) {
					if _, dup := cur[m]; dup {
						return nil, fmt.Errorf("%s: %s %s is already documented", name, m, p)
					}
					cur[m] = op
				}
				continue
			}
			paths[p] = ops
		}
		maps.Copy(schemas, objectAt(objectAt(part, "components"), "schemas"))
	}
	return json.MarshalIndent(doc, "", "  ")
}

// objectAt returns m[key] as an object, creating it when absent.
func objectAt(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}
