// in_gotest.go — a Go input plugin for Fluent Bit's Go interface, built by
// tests/e2e/test_plugins.py (and bench/e2e/plugin_bench.py) with
// `go build -buildmode=c-shared`. Written from Fluent Bit's published
// plugin interface (src/proxy/go/go.h's flbgo_input_plugin, the calls
// fluent-bit-go's input package makes, its examples/in_gdummy) with the
// standard library only, so it builds without network; it exports the
// same functions with the same signatures a fluent-bit-go input does, and
// encodes its msgpack by hand.
//
// Keys (FLBPluginInit reads them through the host's input_get_property,
// as fluent-bit-go's FLBPluginConfigKey does):
//   Records     how many records in all (0: without end), then empty answers
//   Batch       records per FLBPluginInputCallback (default 100)
//   Label       put in every record as "label"; read again in every
//               callback, after FLBPluginInit, as "late"
//   Malformed   "yes": the first callback answers a buffer that holds no
//               event (a string, then bytes msgpack never uses)
//   Sleep_Ms    sleep this long in each callback (in_gdummy sleeps 1 s)
//   Exit_File   at FLBPluginExit, write "calls cleanups records" there
//               (records: how many it handed over in all)
//
// Record i: {"n": i, "msg": "m%06d", "label": ..., "late": ...} at
// EventTime 1700000000+i seconds, (i mod 1000000)*1000+7 nanoseconds.
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
	char *(*input_get_property)(char *, void *);
};

struct flbgo_input_plugin {
	void *_;
	struct flb_api *api;
	void *i_ins;
	void *context;
};

static char *config_key(void *plugin, char *key)
{
	struct flbgo_input_plugin *p = plugin;
	return p->api->input_get_property(key, p->i_ins);
}
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"
)

const (
	flbError = 0
	flbOK    = 1
)

var (
	plugin    unsafe.Pointer // C memory of the host: may be kept
	records   int
	batch     = 100
	label     string
	malformed bool
	sleep     time.Duration
	exitFile  string
	next      int
	calls     int64
	cleanups  int64
)

func configKey(key string) string {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	return C.GoString(C.config_key(plugin, k))
}

//export FLBPluginRegister
func FLBPluginRegister(def unsafe.Pointer) int {
	d := (*C.struct_flb_plugin_proxy_def)(def)
	d._type = 1  // FLB_PROXY_INPUT_PLUGIN
	d.proxy = 11 // FLB_PROXY_GOLANG
	d.flags = 0
	d.name = C.CString("gotest_in")
	d.description = C.CString("sluice's test Go input")
	return 0
}

//export FLBPluginInit
func FLBPluginInit(p unsafe.Pointer) int {
	plugin = p
	for key, v := range map[string]*int{"Records": &records, "Batch": &batch} {
		if s := configKey(key); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return flbError
			}
			*v = n
		}
	}
	if s := configKey("Sleep_Ms"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return flbError
		}
		sleep = time.Duration(n) * time.Millisecond
	}
	label = configKey("Label")
	malformed = configKey("Malformed") == "yes"
	exitFile = configKey("Exit_File")
	return flbOK
}

func str(b []byte, s string) []byte {
	if len(s) < 32 {
		b = append(b, 0xa0|byte(len(s)))
	} else {
		b = append(b, 0xd9, byte(len(s)))
	}
	return append(b, s...)
}

func event(b []byte, i int, late string) []byte {
	b = append(b, 0x92, 0xd7, 0x00) // [EventTime (fixext 8, type 0), map]
	b = binary.BigEndian.AppendUint32(b, uint32(1700000000+i))
	b = binary.BigEndian.AppendUint32(b, uint32(i%1000000*1000+7))
	b = append(b, 0x84)
	b = str(b, "n")
	b = append(b, 0xce)
	b = binary.BigEndian.AppendUint32(b, uint32(i))
	b = str(str(b, "msg"), fmt.Sprintf("m%06d", i))
	b = str(str(b, "label"), label)
	return str(str(b, "late"), late)
}

//export FLBPluginInputCallback
func FLBPluginInputCallback(data *unsafe.Pointer, size *C.size_t) int {
	atomic.AddInt64(&calls, 1)
	if sleep > 0 {
		time.Sleep(sleep)
	}
	var b []byte
	if malformed {
		malformed = false
		b = str(b, "not an event")
		b = append(b, 0xc1, 0xc1, 0xc1)
	} else {
		late := configKey("Label")
		for k := 0; k < batch && (records == 0 || next < records); k++ {
			b = event(b, next, late)
			next++
		}
	}
	if len(b) == 0 {
		*size = 0
		return flbOK
	}
	*data = C.CBytes(b)
	*size = C.size_t(len(b))
	return flbOK
}

//export FLBPluginInputCleanupCallback
func FLBPluginInputCleanupCallback(data unsafe.Pointer) int {
	atomic.AddInt64(&cleanups, 1)
	C.free(data)
	return flbOK
}

//export FLBPluginExit
func FLBPluginExit() int {
	if exitFile != "" {
		os.WriteFile(exitFile, []byte(fmt.Sprintf("%d %d %d\n", atomic.LoadInt64(&calls),
			atomic.LoadInt64(&cleanups), next)), 0o644)
	}
	return flbOK
}

func main() {}
