//go:build tools

// Package tools pins toxiproxy, the TCP fault-injecting proxy the e2e fault
// tests put between the tool and the apiserver.
package tools

import (
	_ "github.com/Shopify/toxiproxy/v2/cmd/cli"
	_ "github.com/Shopify/toxiproxy/v2/cmd/server"
)
