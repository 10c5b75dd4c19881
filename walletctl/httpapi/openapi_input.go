package httpapi

import (
	"reflect"
)

// inputSchemaOf is schemaOf for a request body: the server decodes bodies with encoding/json,
// so a field left out is its zero value, never an error of the document's making; the schema
// therefore requires nothing (the engine answers a missing phone or password with its own
// error). A struct that is also a response type (with its required fields) is registered as
// <Name>Input; inputs records the names registered here.
func inputSchemaOf(t reflect.Type, schemas obj, inputs map[string]bool) obj {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType || t.Kind() != reflect.Struct && t.Kind() != reflect.Slice:
		return schemaOf(t, obj{})
	case t.Kind() == reflect.Slice:
		return obj{"type": "array", "items": inputSchemaOf(t.Elem(), schemas, inputs)}
	}
	name := t.Name()
	if _, taken := schemas[name]; taken && !inputs[name] {
		name += "Input"
	}
	if _, ok := schemas[name]; !ok {
		inputs[name] = true
		schemas[name] = obj{} // placeholder against recursion
		props := obj{}
		addInputFields(t, schemas, inputs, props)
		schemas[name] = obj{"type": "object", "properties": props}
	}
	return obj{"$ref": "#/components/schemas/" + name}
}

func addInputFields(t reflect.Type, schemas obj, inputs map[string]bool, props obj) {
	jsonFields(t, func(name, _ string, ft reflect.Type) {
		props[name] = inputSchemaOf(ft, schemas, inputs)
	})
}
