#!/usr/bin/env python3
"""
Every key Fluent Bit 5.x documents for the plugins sluice has is either
implemented (it is in `sluice --doc-config`, generated from the option
tables, and not marked "Not supported yet") or listed with a reason in
docs/OPERATIONS.md under "Fluent Bit keys not supported, and why".

The key lists below are copied from Fluent Bit's documentation (and, for
keys the pages leave out, the plugin's config_map in its source):
  https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/<plugin>
  https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/<plugin>
  https://docs.fluentbit.io/manual/5.0/data-pipeline/filters/<plugin>
  https://docs.fluentbit.io/manual/5.0/data-pipeline/parsers/configuring-parser
  https://docs.fluentbit.io/manual/5.0/administration/configuring-fluent-bit/classic-mode/configuration-file
  (common keys: src/flb_input.c, flb_output.c, flb_filter.c config maps)

Run: SLUICE=build/sluice python3 tests/e2e/test_fb_keys.py
"""
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SLUICE = os.path.abspath(os.environ.get('SLUICE') or os.path.join(REPO, 'build', 'sluice'))

TLS = ['tls', 'tls.verify', 'tls.debug', 'tls.ca_file', 'tls.ca_path', 'tls.crt_file',
       'tls.key_file', 'tls.key_passwd', 'tls.vhost']

ES_KEYS = ['host', 'port', 'path', 'index', 'type', 'suppress_type_name', 'http_user', 'http_passwd',
           'compress', 'buffer_size', 'pipeline', 'logstash_format', 'logstash_prefix',
           'logstash_prefix_key', 'logstash_prefix_separator', 'logstash_dateformat', 'time_key',
           'time_key_format', 'time_key_nanos', 'include_tag_key', 'tag_key', 'generate_id', 'id_key',
           'write_operation', 'replace_dots', 'current_time_index', 'trace_output', 'trace_error',
           'aws_auth', 'aws_region', 'aws_sts_endpoint', 'aws_role_arn', 'aws_external_id',
           'aws_service_name', 'aws_profile', 'workers', 'retry_limit', 'net.keepalive',
           'net.keepalive_idle_timeout', 'net.connect_timeout', 'tls.verify_hostname'] + TLS

# Section title in `sluice --doc-config` -> Fluent Bit's documented keys.
FB_KEYS = {
    '[SERVICE]': ['flush', 'grace', 'daemon', 'dns.mode', 'dns.resolver', 'dns.prefer_ipv4',
                  'log_file', 'log_level', 'parsers_file', 'plugins_file', 'streams_file',
                  'http_server', 'http_listen', 'http_port', 'health_check', 'hc_errors_count',
                  'hc_retry_failure_count', 'hc_period', 'hot_reload', 'coro_stack_size',
                  'scheduler.cap', 'scheduler.base', 'json.convert_nan_to_null',
                  'sp.convert_from_str_to_num', 'storage.path', 'storage.sync',
                  'storage.checksum', 'storage.max_chunks_up', 'storage.backlog.mem_limit',
                  'storage.metrics', 'storage.delete_irrecoverable_chunks'],
    'Keys of every [INPUT]': ['tag', 'alias', 'log_level', 'log_suppress_interval',
                              'mem_buf_limit', 'routable', 'storage.type',
                              'storage.pause_on_chunks_overlimit', 'threaded'],
    'Keys of every [FILTER]': ['match', 'match_regex', 'alias', 'log_level',
                               'log_suppress_interval'],
    'Keys of every [OUTPUT]': ['match', 'match_regex', 'alias', 'log_level',
                               'log_suppress_interval', 'retry_limit', 'workers',
                               'storage.total_limit_size'],
    '[INPUT] syslog': ['mode', 'listen', 'port', 'path', 'unix_perm', 'parser',
                       'buffer_chunk_size', 'buffer_max_size', 'receive_buffer_size',
                       'source_address_key', 'raw_message_key', 'format'] + TLS,
    '[INPUT] tcp': ['listen', 'port', 'buffer_size', 'chunk_size', 'format', 'separator',
                    'source_address_key', 'parser', 'workers'] + TLS,
    '[INPUT] udp': ['listen', 'port', 'buffer_size', 'chunk_size', 'format', 'separator',
                    'source_address_key'],
    '[INPUT] kafka': ['brokers', 'topics', 'format', 'client_id', 'group_id', 'poll_ms',
                      'poll_timeout_ms', 'buffer_max_size', 'enable_auto_commit',
                      'rdkafka.<property>', 'aws_msk_iam', 'aws_msk_iam_cluster_arn'],
    '[INPUT] tail': ['buffer_chunk_size', 'buffer_max_size', 'path', 'path_key', 'exclude_path',
                     'offset_key', 'read_from_head', 'refresh_interval', 'rotate_wait',
                     'ignore_older', 'ignore_active_older_files', 'skip_long_lines',
                     'skip_empty_lines', 'db', 'db.sync', 'db.locking', 'db.journal_mode',
                     'db.compare_filename', 'mem_buf_limit', 'exit_on_eof', 'parser', 'key',
                     'inotify_watcher', 'tag', 'tag_regex', 'static_batch_size',
                     'file_cache_advise', 'keep_file_handle', 'fstat_interval_nsec', 'threaded',
                     'unicode.encoding', 'generic.encoding', 'multiline.parser', 'multiline',
                     'multiline_flush', 'parser_firstline', 'parser_n', 'docker_mode',
                     'docker_mode_flush', 'docker_mode_parser'],
    # https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/systemd and
    # plugins/in_systemd/systemd.c's config_map (read_since_minutes_ago).
    '[INPUT] systemd': ['path', 'max_fields', 'max_entries', 'systemd_filter',
                        'systemd_filter_type', 'tag', 'db', 'db.sync', 'read_from_tail',
                        'read_since_minutes_ago', 'lowercase', 'strip_underscores', 'threaded'],
    # https://docs.fluentbit.io/manual/5.0/data-pipeline/inputs/forward and
    # plugins/in_forward/fw.c's config_map.
    '[INPUT] forward': ['listen', 'port', 'unix_path', 'unix_perm', 'buffer_max_size',
                        'buffer_chunk_size', 'tag_prefix', 'tag', 'shared_key',
                        'empty_shared_key', 'self_hostname', 'security.users',
                        'threaded'] + TLS,
    # https://docs.fluentbit.io/manual/4.2/data-pipeline/inputs/http (and 5.0) and
    # plugins/in_http/http.c's config_map.
    '[INPUT] http': ['listen', 'port', 'tag_key', 'buffer_max_size', 'buffer_chunk_size',
                     'successful_response_code', 'success_header', 'add_remote_addr', 'http2',
                     'http_server.workers', 'oauth2.validate', 'oauth2.issuer',
                     'oauth2.jwks_url', 'oauth2.allowed_audience', 'oauth2.allowed_clients',
                     'oauth2.jwks_refresh_interval', 'threaded'] + TLS,
    '[INPUT] dummy': ['dummy', 'metadata', 'rate', 'interval_sec', 'interval_nsec', 'samples',
                      'copies', 'fixed_timestamp', 'flush_on_startup', 'start_time_sec',
                      'start_time_nsec'],
    '[OUTPUT] stdout': ['format', 'json_date_key', 'json_date_format'],
    '[OUTPUT] file': ['path', 'file', 'format', 'mkdir', 'delimiter', 'label_delimiter',
                      'template', 'csv_column_names'],
    '[OUTPUT] null': [],
    '[OUTPUT] kafka': ['brokers', 'topics', 'topic_key', 'dynamic_topic', 'format',
                       'message_key', 'message_key_field', 'timestamp_key', 'timestamp_format',
                       'queue_full_retries', 'raw_log_key', 'schema_str', 'schema_id',
                       'client_id', 'gelf_short_message_key', 'gelf_full_message_key',
                       'gelf_level_key', 'gelf_host_key', 'gelf_timestamp_key',
                       'rdkafka.<property>', 'aws_msk_iam', 'aws_msk_iam_cluster_arn'],
    # https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/forward and
    # plugins/out_forward/forward.c's config_map.
    '[OUTPUT] forward': ['host', 'port', 'time_as_integer', 'upstream', 'unix_path', 'tag',
                         'send_options', 'require_ack_response', 'compress',
                         'retain_metadata_in_forward_mode', 'shared_key', 'empty_shared_key',
                         'self_hostname', 'username', 'password', 'add_option', 'fluentd_compat',
                         'workers'] + TLS,
    # https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/http and
    # plugins/out_http/http.c's config_map; the net.* keys the issue asks for
    # (administration/networking).
    '[OUTPUT] http': ['host', 'port', 'uri', 'format', 'header', 'header_tag', 'http_user',
                      'http_passwd', 'http_method', 'proxy', 'compress',
                      'allow_duplicated_headers', 'log_response_payload', 'json_date_key',
                      'json_date_format', 'gelf_timestamp_key', 'gelf_host_key',
                      'gelf_short_message_key', 'gelf_full_message_key', 'gelf_level_key',
                      'body_key', 'headers_key', 'aws_auth', 'aws_service', 'aws_region',
                      'aws_sts_endpoint', 'aws_role_arn', 'aws_external_id', 'aws_profile',
                      'workers', 'retry_limit', 'net.keepalive', 'net.keepalive_idle_timeout',
                      'net.connect_timeout', 'tls.verify_hostname'] + TLS,
    # https://docs.fluentbit.io/manual/5.0/data-pipeline/outputs/elasticsearch and
    # .../outputs/opensearch; plugins/out_es/es.c and plugins/out_opensearch/
    # opensearch.c config_map (the net.* keys as for http).
    '[OUTPUT] es': ES_KEYS + ['http_api_key', 'cloud_id', 'cloud_auth'],
    '[OUTPUT] opensearch': ES_KEYS,
    '[FILTER] grep': ['regex', 'exclude', 'logical_op'],
    '[FILTER] modify': ['set', 'add', 'remove', 'remove_wildcard', 'remove_regex', 'rename',
                        'hard_rename', 'copy', 'hard_copy', 'move_to_start', 'move_to_end',
                        'condition'],
    '[FILTER] multiline': ['multiline.parser', 'multiline.key_content', 'mode', 'buffer',
                           'flush_ms', 'emitter_name', 'emitter_storage.type',
                           'emitter_mem_buf_limit'],
    '[FILTER] parser': ['key_name', 'parser', 'preserve_key', 'reserve_data', 'unescape_key'],
    '[FILTER] record_modifier': ['record', 'remove_key', 'allowlist_key', 'whitelist_key',
                                 'uuid_key'],
    '[FILTER] rewrite_tag': ['rule', 'emitter_name', 'emitter_storage.type',
                             'emitter_mem_buf_limit'],
    '[FILTER] throttle': ['rate', 'window', 'interval', 'print_status'],
    '[PARSER]': ['name', 'format', 'regex', 'time_key', 'time_format', 'time_keep',
                 'time_offset', 'time_strict', 'time_system_timezone', 'types',
                 'decode_field', 'decode_field_as', 'skip_empty_values', 'logfmt_no_bare_keys'],
    '[MULTILINE_PARSER]': ['name', 'type', 'parser', 'key_content', 'key_pattern', 'key_group',
                           'flush_timeout', 'rule'],
}

# Keys every section of that kind accepts (Name picks the plugin).
KIND_COMMON = {'[INPUT]': 'Keys of every [INPUT]', '[OUTPUT]': 'Keys of every [OUTPUT]',
               '[FILTER]': 'Keys of every [FILTER]'}


def sluice_keys():
    """{section title: {lowercase key: not_yet}} from `sluice --doc-config`."""
    out = subprocess.run([SLUICE, '--doc-config'], check=True, capture_output=True,
                         text=True).stdout
    secs, cur = {}, None
    for line in out.splitlines():
        if line.startswith('## '):
            cur = secs.setdefault(line[3:].strip(), {})
        elif cur is not None and line.startswith('| `'):
            key = line.split('`')[1].lower()
            cur[key] = 'Not supported yet' in line
    return secs


def unsupported_table():
    """{(section, lowercase key)} from OPERATIONS.md's table."""
    text = open(os.path.join(REPO, 'docs', 'OPERATIONS.md')).read()
    m = re.search(r'^## Fluent Bit keys not supported, and why\n(.*?)(?=^## |\Z)', text,
                  re.S | re.M)
    assert m, 'docs/OPERATIONS.md has no section "Fluent Bit keys not supported, and why"'
    rows = set()
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) >= 3 and cells[1].startswith('`'):
            sec = cells[0].replace('\\', '')
            if sec.startswith('every '):
                sec = 'Keys of ' + sec
            for key in re.findall(r'`([^`]+)`', cells[1]):
                rows.add((sec, key.lower()))
            assert cells[2], 'no reason given for %s %s' % (cells[0], cells[1])
    return rows


def test_every_documented_key_is_implemented_or_listed():
    have, listed = sluice_keys(), unsupported_table()
    missing = []
    for sec, keys in FB_KEYS.items():
        assert sec in have, 'sluice --doc-config has no section %s' % sec
        kind = sec.split(' ')[0]
        common = have.get(KIND_COMMON.get(kind, ''), {})
        for k in keys:
            implemented = (k in have[sec] and not have[sec][k]) or \
                (k in common and not common[k])
            if not implemented and (sec, k) not in listed:
                missing.append('%s %s' % (sec, k))
    assert not missing, 'neither implemented nor in OPERATIONS.md\'s table:\n  ' + \
        '\n  '.join(missing)


def test_listed_keys_are_really_unsupported():
    """A key implemented since must leave the table."""
    have, listed = sluice_keys(), unsupported_table()
    stale = []
    for sec, k in listed:
        if sec in have and k in have[sec] and not have[sec][k]:
            stale.append('%s %s' % (sec, k))
    assert not stale, 'implemented but still in the table: ' + ', '.join(stale)


def main():
    if not os.access(SLUICE, os.X_OK):
        print('SKIP: sluice not built at %s' % SLUICE)
        return 77
    names = sys.argv[1:] or [n for n in sorted(globals()) if n.startswith('test_')]
    failed = 0
    for n in names:
        try:
            globals()[n]()
            print('ok   %s' % n)
        except AssertionError as e:
            failed += 1
            print('FAIL %s: %s' % (n, e))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
