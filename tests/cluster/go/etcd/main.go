// Command etcd is upstream etcd's server main, wrapped so the test cluster can
// pin it in a module of its own (etcd's server module has replace directives,
// so `go install` cannot build it directly).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
