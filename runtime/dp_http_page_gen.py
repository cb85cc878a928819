#!/usr/bin/env python3
"""dp_http_page_gen.py — turn runtime/dp_http_page.html into the C file
that holds it (dp_http_page.c, in the build directory), at build time.

The status page is kept as a real .html file so that it can be edited and
opened in a browser as it is; a C string written by hand would have to
be escaped line by line. meson runs this (runtime/meson.build,
custom_target) whenever the .html changes.

    dp_http_page_gen.py IN.html OUT.c

The bytes go out as an array of hex values rather than a string literal:
no escaping to get wrong, and no compiler limit on a literal's length.
"""
import sys


def main(src, dst):
    with open(src, 'rb') as f:
        data = f.read()
    out = ['/* Generated from runtime/dp_http_page.html by runtime/dp_http_page_gen.py;',
           ' * do not edit: edit the .html. The status page (dp_http_int.h). */',
           '#include <stddef.h>',
           '#include "dp_http_int.h"',
           '',
           'const unsigned char dp_http_page[] = {']
    for i in range(0, len(data), 16):
        out.append('\t' + ' '.join('0x%02x,' % b for b in data[i:i + 16]))
    out.append('\t0x00,')
    out.append('};')
    out.append('const size_t dp_http_page_len = %d;' % len(data))
    with open(dst, 'w', encoding='ascii') as f:
        f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: dp_http_page_gen.py IN.html OUT.c')
    main(sys.argv[1], sys.argv[2])
