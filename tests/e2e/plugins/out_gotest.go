// out_gotest.go — a Go output plugin for Fluent Bit's Go interface, built
// by tests/e2e/test_plugins.py with `go build -buildmode=c-shared`. It is
// written from Fluent Bit's published plugin interface (the proxy structs
// of include/fluent-bit/flb_plugin_proxy.h and src/proxy/go/go.h, and the
// calls fluent-bit-go's output package makes) with the standard library
// only, so it builds without network; it exports the same functions with
// the same signatures a fluent-bit-go plugin does.
//
// Keys (read in FLBPluginInit through the host's output_get_property, as
// fluent-bit-go's FLBPluginConfigKey does; Out_File again in every flush,
// which answers FLB_ERROR should it differ):
//   Out_File     append "tag<TAB>sec.nsec<TAB>message" per record; without
//                it the plugin only decodes and counts (the benchmark)
//   Retry_First  answer FLB_RETRY to the first N flushes (nothing written)
//   Error_First  then answer FLB_ERROR to the next N (nothing written)
//   Fail_Init    "yes": FLBPluginInit fails
//   Count_File   at exit, write "records flushes" there
package main

/*
#include <stdlib.h>

struct flb_plugin_proxy_def {
	int type;
	int proxy;
	int flags;
	char *name;
	char *description;
};

struct flb_api {
	char *(*output_get_property)(char *, void *);
};

struct flb_plugin_proxy_context {
	void *remote_context;
};

struct flbgo_output_plugin {
	void *_;
	struct flb_api *api;
	void *o_ins;
	struct flb_plugin_proxy_context *context;
};

static char *config_key(void *plugin, char *key)
{
	struct flbgo_output_plugin *p = plugin;
	return p->api->output_get_property(key, p->o_ins);
}

static void set_context(void *plugin, void *ctx)
{
	((struct flbgo_output_plugin *)plugin)->context->remote_context = ctx;
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"unsafe"
)

const (
	flbError = 0
	flbOK    = 1
	flbRetry = 2
)

type instance struct {
	plugin     unsafe.Pointer // the host's (C memory): kept to read keys later
	outFile    string
	countFile  string
	retryFirst int
	errorFirst int
	flushes    int
	records    int
}

var (
	mu        sync.Mutex
	instances []*instance
)

func configKey(plugin unsafe.Pointer, key string) string {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	return C.GoString(C.config_key(plugin, k))
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	d := (*C.struct_flb_plugin_proxy_def)(def)
	d._type = 2  // FLB_PROXY_OUTPUT_PLUGIN
	d.proxy = 11 // FLB_PROXY_GOLANG
	d.flags = 0
	d.name = C.CString("gotest")
	d.description = C.CString("sluice's test Go output")
	return 0
}

//export FLBPluginInit
func FLBPluginInit(plugin unsafe.Pointer) int {
	if configKey(plugin, "Fail_Init") == "yes" {
		return flbError
	}
	in := &instance{plugin: plugin, outFile: configKey(plugin, "Out_File"),
		countFile: configKey(plugin, "Count_File")}
	for key, p := range map[string]*int{"Retry_First": &in.retryFirst, "Error_First": &in.errorFirst} {
		if v := configKey(plugin, key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return flbError
			}
			*p = n
		}
	}
	mu.Lock()
	instances = append(instances, in)
	id := len(instances)
	mu.Unlock()
	// The context is an index in C memory: Go pointers may not be kept by C.
	p := C.malloc(8)
	*(*uint64)(p) = uint64(id)
	C.set_context(plugin, p)
	return flbOK
}

func lookup(ctx unsafe.Pointer) *instance {
	mu.Lock()
	defer mu.Unlock()
	return instances[*(*uint64)(ctx)-1]
}

// A reader of the msgpack subset the records hold.
type reader struct {
	b []byte
	i int
}

func (r *reader) u(n int) uint64 {
	var v uint64
	for k := 0; k < n; k++ {
		v = v<<8 | uint64(r.b[r.i+k])
	}
	r.i += n
	return v
}

// next decodes one object: a string, a number, a time ([sec, nsec]) or,
// for containers, their length (the caller reads the items).
func (r *reader) next() (kind byte, s string, n uint64, f float64) {
	c := r.b[r.i]
	r.i++
	switch {
	case c <= 0x7f:
		return 'u', "", uint64(c), 0
	case c >= 0xe0:
		return 'i', "", uint64(int64(int8(c))), 0
	case c&0xe0 == 0xa0:
		l := int(c & 0x1f)
		r.i += l
		return 's', string(r.b[r.i-l : r.i]), 0, 0
	case c&0xf0 == 0x80:
		return 'm', "", uint64(c & 0x0f), 0
	case c&0xf0 == 0x90:
		return 'a', "", uint64(c & 0x0f), 0
	}
	switch c {
	case 0xc0, 0xc2, 0xc3:
		return 'n', "", uint64(c - 0xc2), 0
	case 0xcc, 0xcd, 0xce, 0xcf:
		return 'u', "", r.u(1 << (c - 0xcc)), 0
	case 0xd0, 0xd1, 0xd2, 0xd3:
		return 'i', "", r.u(1 << (c - 0xd0)), 0
	case 0xca:
		return 'f', "", 0, float64(math.Float32frombits(uint32(r.u(4))))
	case 0xcb:
		return 'f', "", 0, math.Float64frombits(r.u(8))
	case 0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6:
		var l int
		switch c {
		case 0xd9, 0xc4:
			l = int(r.u(1))
		case 0xda, 0xc5:
			l = int(r.u(2))
		default:
			l = int(r.u(4))
		}
		r.i += l
		return 's', string(r.b[r.i-l : r.i]), 0, 0
	case 0xdc:
		return 'a', "", r.u(2), 0
	case 0xdd:
		return 'a', "", r.u(4), 0
	case 0xde:
		return 'm', "", r.u(2), 0
	case 0xdf:
		return 'm', "", r.u(4), 0
	case 0xd7, 0xc7: // fixext 8 / ext8: EventTime is type 0, 8 bytes
		l := 8
		if c == 0xc7 {
			l = int(r.u(1))
		}
		t := r.b[r.i]
		r.i++
		if t == 0 && l == 8 {
			sec := binary.BigEndian.Uint32(r.b[r.i:])
			nsec := binary.BigEndian.Uint32(r.b[r.i+4:])
			r.i += 8
			return 't', fmt.Sprintf("%d.%09d", sec, nsec), 0, 0
		}
		r.i += l
		return 'x', "", 0, 0
	}
	panic(fmt.Sprintf("msgpack byte 0x%02x not handled", c))
}

// skip the object whose header next just returned.
func (r *reader) skip(kind byte, n uint64) {
	for k := uint64(0); kind == 'a' && k < n; k++ {
		kk, _, nn, _ := r.next()
		r.skip(kk, nn)
	}
	for k := uint64(0); kind == 'm' && k < 2*n; k++ {
		kk, _, nn, _ := r.next()
		r.skip(kk, nn)
	}
}

//export FLBPluginFlushCtx
func FLBPluginFlushCtx(ctx, data unsafe.Pointer, length C.int, tag *C.char) int {
	in := lookup(ctx)
	in.flushes++
	if in.flushes <= in.retryFirst {
		return flbRetry
	}
	if in.flushes <= in.retryFirst+in.errorFirst {
		return flbError
	}
	// fluent-bit-go plugins read keys in their flush too: the same answer
	// as in FLBPluginInit, or the chunk fails.
	if configKey(in.plugin, "Out_File") != in.outFile {
		return flbError
	}
	r := &reader{b: C.GoBytes(data, length)}
	t := C.GoString(tag)
	var out []byte
	for r.i < len(r.b) {
		// an event: [time, map], or Fluent Bit 2's [[time, metadata], map]
		_, _, _, _ = r.next()
		k, ts, n, _ := r.next()
		if k == 'a' {
			k, ts, _, _ = r.next()
			for j := uint64(1); j < n; j++ {
				kk, _, nn, _ := r.next()
				r.skip(kk, nn)
			}
		}
		_, _, n, _ = r.next()
		msg := ""
		for j := uint64(0); j < n; j++ {
			_, key, _, _ := r.next()
			kk, s, nn, _ := r.next()
			r.skip(kk, nn)
			if key == "message" {
				msg = s
			}
		}
		in.records++
		if in.outFile != "" {
			out = append(out, t+"\t"+ts+"\t"+msg+"\n"...)
		}
	}
	if in.outFile != "" {
		f, err := os.OpenFile(in.outFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return flbError
		}
		f.Write(out)
		f.Close()
	}
	return flbOK
}

//export FLBPluginExitCtx
func FLBPluginExitCtx(ctx unsafe.Pointer) int {
	in := lookup(ctx)
	if in.countFile != "" {
		os.WriteFile(in.countFile, []byte(fmt.Sprintf("%d %d\n", in.records, in.flushes)), 0o644)
	}
	C.free(ctx) // the index FLBPluginInit allocated; the host never uses it after exit
	return flbOK
}

func main() {}
