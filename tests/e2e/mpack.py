"""
mpack.py — a small msgpack reader and writer for the e2e tests (PyPI's
msgpack is not installable here). The reader takes the subset sluice and
Fluent Bit write; EventTime (ext 0, 8 bytes: sec, nsec big-endian) reads
as ('time', sec, nsec); a str that is not UTF-8 (the forward handshake's
nonce) reads with surrogate escapes: s.encode(errors='surrogateescape')
gives its bytes back. The writer takes None, bool, int, float, str,
bytes, list/tuple, dict, and EventTime(sec, nsec).
"""
import struct


class EventTime:
    """Fluent Bit's EventTime: msgpack ext type 0, fixext 8."""

    def __init__(self, sec, nsec=0):
        self.sec, self.nsec = sec, nsec


def mp_encode(v):
    """msgpack bytes of v."""
    out = bytearray()
    _enc(v, out)
    return bytes(out)


def _enc(v, out):
    if v is None:
        out.append(0xc0)
    elif v is True or v is False:
        out.append(0xc3 if v else 0xc2)
    elif isinstance(v, EventTime):
        out += b'\xd7\x00' + struct.pack('>II', v.sec, v.nsec)
    elif isinstance(v, int):
        if 0 <= v <= 0x7f:
            out.append(v)
        elif -32 <= v < 0:
            out.append(v + 0x100)
        elif v >= 0:
            out += b'\xcf' + struct.pack('>Q', v) if v > 0xffffffff else b'\xce' + struct.pack('>I', v)
        else:
            out += b'\xd3' + struct.pack('>q', v)
    elif isinstance(v, float):
        out += b'\xcb' + struct.pack('>d', v)
    elif isinstance(v, str):
        b = v.encode()
        n = len(b)
        if n < 32:
            out.append(0xa0 | n)
        elif n < 256:
            out += bytes([0xd9, n])
        elif n < 65536:
            out += b'\xda' + struct.pack('>H', n)
        else:
            out += b'\xdb' + struct.pack('>I', n)
        out += b
    elif isinstance(v, (bytes, bytearray)):
        n = len(v)
        if n < 256:
            out += bytes([0xc4, n])
        elif n < 65536:
            out += b'\xc5' + struct.pack('>H', n)
        else:
            out += b'\xc6' + struct.pack('>I', n)
        out += v
    elif isinstance(v, (list, tuple)):
        n = len(v)
        if n < 16:
            out.append(0x90 | n)
        elif n < 65536:
            out += b'\xdc' + struct.pack('>H', n)
        else:
            out += b'\xdd' + struct.pack('>I', n)
        for x in v:
            _enc(x, out)
    elif isinstance(v, dict):
        n = len(v)
        if n < 16:
            out.append(0x80 | n)
        elif n < 65536:
            out += b'\xde' + struct.pack('>H', n)
        else:
            out += b'\xdf' + struct.pack('>I', n)
        for k, x in v.items():
            _enc(k, out)
            _enc(x, out)
    else:
        raise TypeError('mp_encode: %r' % type(v))


def mp_decode(b, i=0):
    """(value, next offset). EventTime ext 0 becomes ('time', sec, nsec)."""
    t = b[i]
    if t <= 0x7f:
        return t, i + 1
    if t >= 0xe0:
        return t - 0x100, i + 1
    if 0x80 <= t <= 0x8f:
        return mp_map(b, i + 1, t & 0x0f)
    if 0x90 <= t <= 0x9f:
        return mp_arr(b, i + 1, t & 0x0f)
    if 0xa0 <= t <= 0xbf:
        n = t & 0x1f
        return b[i + 1:i + 1 + n].decode(errors='surrogateescape'), i + 1 + n
    if t == 0xc0:
        return None, i + 1
    if t in (0xc2, 0xc3):
        return t == 0xc3, i + 1
    sizes = {0xcc: 'B', 0xcd: '>H', 0xce: '>I', 0xcf: '>Q', 0xd0: 'b', 0xd1: '>h', 0xd2: '>i',
             0xd3: '>q', 0xca: '>f', 0xcb: '>d'}
    if t in sizes:
        f = sizes[t]
        n = struct.calcsize(f)
        return struct.unpack(f, b[i + 1:i + 1 + n])[0], i + 1 + n
    if t in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        f = {0xd9: 'B', 0xda: '>H', 0xdb: '>I', 0xc4: 'B', 0xc5: '>H', 0xc6: '>I'}[t]
        h = struct.calcsize(f)
        n = struct.unpack(f, b[i + 1:i + 1 + h])[0]
        raw = b[i + 1 + h:i + 1 + h + n]
        return (raw.decode(errors='surrogateescape') if t >= 0xd9 else raw), i + 1 + h + n
    if t in (0xdc, 0xdd):
        f = '>H' if t == 0xdc else '>I'
        h = struct.calcsize(f)
        return mp_arr(b, i + 1 + h, struct.unpack(f, b[i + 1:i + 1 + h])[0])
    if t in (0xde, 0xdf):
        f = '>H' if t == 0xde else '>I'
        h = struct.calcsize(f)
        return mp_map(b, i + 1 + h, struct.unpack(f, b[i + 1:i + 1 + h])[0])
    if t == 0xd7 or (t == 0xc7 and b[i + 1] == 8):       # fixext8 / ext8 len 8
        o = i + 1 if t == 0xd7 else i + 2
        typ = b[o]
        sec, nsec = struct.unpack('>II', b[o + 1:o + 9])
        return ('time' if typ == 0 else 'ext%d' % typ, sec, nsec), o + 9
    raise ValueError('msgpack type 0x%02x at %d not expected' % (t, i))


def mp_map(b, i, n):
    d = {}
    for _ in range(n):
        k, i = mp_decode(b, i)
        v, i = mp_decode(b, i)
        d[k] = v
    return d, i


def mp_arr(b, i, n):
    a = []
    for _ in range(n):
        v, i = mp_decode(b, i)
        a.append(v)
    return a, i


def mp_all(b):
    out, i = [], 0
    while i < len(b):
        v, i = mp_decode(b, i)
        out.append(v)
    return out
