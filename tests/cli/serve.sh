#!/bin/sh
# serve.sh: a real `swarm serve` on 127.0.0.1 with a random port and a temp
# dir, driven with curl (and python3 for raw sockets and JSON checks):
# models, chat and completion with and without streaming, stop sequences,
# the OpenAI error bodies (400/401/404/405/413/429), a client that leaves
# mid-stream (its task is canceled; the server still serves), >= 100 hostile
# requests (all 4xx, none 5xx, the server stays up), and SIGTERM draining a
# running request before exiting 0.
set -u
BIN=${SWARM_BIN:?set SWARM_BIN}
SRC=${SWARM_SOURCE_DIR:?set SWARM_SOURCE_DIR}
[ -x "$BIN" ] || { echo "SKIP: $BIN not built"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "SKIP: curl missing (scripts/setup installs it)"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 missing (scripts/setup installs it)"; exit 77; }
TMP=$(mktemp -d)
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT
fails=0 cases=0
ok() { cases=$((cases + 1)); echo "ok   $1"; }
bad() { cases=$((cases + 1)); fails=$((fails + 1)); echo "FAIL $1"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi; }

# start NAME ARGS...: starts swarm serve, waits for its one line, sets URL and PID
start() {
    name=$1
    shift
    : >"$TMP/$name.err"
    "$BIN" serve --listen 127.0.0.1:0 "$@" 2>"$TMP/$name.err" &
    PID=$!
    PIDS="$PIDS $PID"
    URL=""
    i=0
    while [ $i -lt 200 ] && [ -z "$URL" ]; do
        URL=$(sed -n 's/^swarm: listening on \(http:.*\)$/\1/p' "$TMP/$name.err")
        [ -z "$URL" ] && sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$URL" ]; then
        echo "FAIL $name did not start:"
        sed 's/^/     | /' "$TMP/$name.err"
        exit 1
    fi
    echo "     $name at $URL (pid $PID)"
}

# post URL PATH BODY [curl args]: the body to $TMP/body, prints the status
post() {
    u=$1 p=$2 b=$3
    shift 3
    curl -s -o "${OUT:-$TMP/body}" -D "$TMP/hdr" -w '%{http_code}' -H 'Content-Type: application/json' \
        --max-time 20 "$@" -d "$b" "$u$p"
}

# jq-like: py EXPR reads $TMP/body as JSON into j and prints EXPR
py() { python3 -c "import json,sys; j=json.load(open('$TMP/body')); x=($1); print(x if isinstance(x, str) else repr(x))" 2>&1; }

# the body is an OpenAI error with this code (our bodies are compact JSON:
# grep is enough, and much cheaper than starting python per request)
is_error() {
    for f in '"message":"' '"type":"' '"param":' "\"code\":\"$1\""; do
        grep -qF -- "$f" "$TMP/body" || { echo "no $f in $(head -c 200 "$TMP/body")"; return; }
    done
    head -c 10 "$TMP/body" | grep -qF '{"error":{' || echo "not an error object"
}

# ---------------------------------------------------------------- server A
start A --swarm "$SRC/examples/swarm-echo.json" --echo --log
A=$URL
A_PID=$PID
lines=$(grep -c . "$TMP/A.err")
check "one line on stderr when ready" "$lines" 1

st=$(curl -s -o "$TMP/body" -w '%{http_code}' "$A/v1/models")
check "GET /v1/models status" "$st" 200
check "models list the built-in routes" \
    "$(py "' '.join(sorted(m['id'] for m in j['data'] if j['object']=='list' and m['object']=='model'))")" \
    "node/e1 node/e2 node/e3 node/e4 swarm/classify-sentiment swarm/ensemble-3 swarm/map-reduce"

# The echo backend answers with the first 48 bytes of its prompt: the
# answer shows the documented chat transcript.
st=$(post "$A" /v1/chat/completions '{"model": "node/e1", "messages": [{"role": "user", "content": "say hi"}]}')
check "chat status" "$st" 200
check "chat answer is the transcript (echo)" "$(py "repr(j['choices'][0]['message']['content'])")" \
    "'User: say hi\\n\\nAssistant:'"
check "chat object and usage" "$(py "(j['object'], j['choices'][0]['message']['role'], j['usage']['total_tokens']==j['usage']['prompt_tokens']+j['usage']['completion_tokens'], j['id'].startswith('chatcmpl-'), j['swarm']['winner'])")" \
    "('chat.completion', 'assistant', True, True, 'e1')"

st=$(post "$A" /v1/chat/completions '{"model": "swarm/ensemble-3", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hello"}]}], "max_tokens": 8, "temperature": 0.5, "top_p": 0.9, "seed": 7}')
check "ensemble chat status" "$st" 200
check "ensemble ran 3 subtasks" "$(py "(j['swarm']['subtasks'], j['choices'][0]['message']['content'])")" \
    "(3, 'System: be brief\\n\\nUser: hello\\n\\nAssistant:')"

st=$(post "$A" /v1/completions '{"model": "swarm/map-reduce", "prompt": "first part\n\nsecond part"}')
check "map-reduce completion status" "$st" 200
check "map-reduce ran 2 maps and a reduce" "$(py "(j['object'], j['swarm']['subtasks'])")" "('text_completion', 3)"

st=$(post "$A" /v1/completions '{"model": "node/e2", "prompt": ["Once upon a time there was a cat"], "stop": [" a cat", "zzz"]}')
check "completion with stop status" "$st" 200
check "stop sequence cuts the text; node/e2 runs on e2" "$(py "(j['choices'][0]['text'], j['choices'][0]['finish_reason'], j['swarm']['winner'])")" \
    "('Once upon a time there was', 'stop', 'e2')"
for n in e3 e4; do
    st=$(post "$A" /v1/completions "{\"model\": \"node/$n\", \"prompt\": \"pinned\"}")
    check "node/$n runs on $n" "$st $(py "j['swarm']['winner']")" "200 $n"
done

st=$(post "$A" /v1/chat/completions '{"model": "swarm/classify-sentiment", "messages": [{"role": "user", "content": "a fine day"}]}')
check "classify route status" "$st" 200
check "classify answers with a label" "$(py "j['choices'][0]['message']['content'] in (' good', ' bad')")" "True"

# streaming: every event is a JSON chunk, the deltas make the text, [DONE] last
sse_check() {
    python3 - "$TMP/sse" "$1" "$2" <<'PY'
import json, sys
path, kind, want = sys.argv[1], sys.argv[2], sys.argv[3].replace('\\n', '\n')
raw = open(path, 'rb').read().decode('utf-8')
events = [e for e in raw.split('\n\n') if e.strip()]
assert events[-1] == 'data: [DONE]', 'last event %r' % events[-1]
text, finish, usage = '', None, None
for e in events[:-1]:
    if e.startswith(':'):
        continue
    assert e.startswith('data: '), e
    j = json.loads(e[6:])
    assert j['object'] == ('chat.completion.chunk' if kind == 'chat' else 'text_completion'), j
    if j.get('usage'):
        usage = j['usage']
        continue
    c = j['choices'][0]
    text += (c['delta'].get('content') or '') if kind == 'chat' else c['text']
    if c['finish_reason']:
        finish = c['finish_reason']
assert text == want, 'text %r want %r' % (text, want)
assert finish in ('stop', 'length'), finish
print('ok', len(events), 'usage' if usage else 'no-usage')
PY
}
curl -sN --max-time 20 -H 'Content-Type: application/json' -o "$TMP/sse" -w '%{http_code} %{content_type}' \
    -d '{"model": "node/e1", "messages": [{"role": "user", "content": "tell me a story"}], "stream": true}' \
    "$A/v1/chat/completions" >"$TMP/st"
check "chat stream status and type" "$(cat "$TMP/st")" "200 text/event-stream"
r=$(sse_check chat 'User: tell me a story\n\nAssistant:' 2>&1)
case $r in ok*) ok "chat stream: chunks, deltas make the text, [DONE] ($r)" ;; *) bad "chat stream: $r" ;; esac

curl -sN --max-time 20 -H 'Content-Type: application/json' -o "$TMP/sse" \
    -d '{"model": "swarm/ensemble-3", "prompt": "Once upon a time in a far land", "stream": true, "stream_options": {"include_usage": true}, "stop": " far"}' \
    "$A/v1/completions"
r=$(sse_check completion 'Once upon a time in a' 2>&1)
case $r in *"ok"*usage) ok "completion stream with stop and usage ($r)" ;; *) bad "completion stream: $r" ;; esac

# errors in OpenAI's shape
err_case() {
    name=$1 want_st=$2 want_code=$3 path=$4 body=$5
    st=$(post "$A" "$path" "$body")
    r=$(is_error "$want_code")
    if [ "$st" = "$want_st" ] && [ -z "$r" ]; then ok "$name: $st $want_code"; else
        bad "$name: status $st (want $want_st) $r $(head -c 300 "$TMP/body")"; fi
}
err_case "malformed JSON" 400 invalid_value /v1/chat/completions '{"model": '
err_case "missing model" 400 invalid_value /v1/chat/completions '{"messages": [{"role": "user", "content": "x"}]}'
err_case "wrong type" 400 invalid_value /v1/completions '{"model": "node/e1", "prompt": 5}'
err_case "unknown parameter" 400 unknown_parameter /v1/completions '{"model": "node/e1", "prompt": "x", "tools": []}'
err_case "n > 1 refused" 400 invalid_value /v1/completions '{"model": "node/e1", "prompt": "x", "n": 2}'
err_case "unknown model" 404 model_not_found /v1/chat/completions '{"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}'
err_case "unknown path" 404 not_found /v1/embeddings '{"model": "node/e1", "input": "x"}'
st=$(curl -s -o "$TMP/body" -w '%{http_code}' "$A/v1/chat/completions")
r=$(is_error method_not_allowed)
if [ "$st" = 405 ] && [ -z "$r" ]; then ok "GET on a POST route: 405"; else bad "405: $st $r"; fi
python3 -c "import json; print(json.dumps({'model': 'node/e1', 'prompt': 'x' * (1 << 20)}))" >"$TMP/big.json"
st=$(curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$TMP/big.json" "$A/v1/completions")
r=$(is_error body_too_large)
if [ "$st" = 413 ] && [ -z "$r" ]; then ok "body over 1 MiB: 413"; else bad "413: $st $r"; fi
st=$(curl -s -o "$TMP/body" -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big.json" "$A/v1/completions")
r=$(is_error body_too_large)
if [ "$st" = 413 ] && [ -z "$r" ]; then ok "chunked body over 1 MiB: 413"; else bad "413 chunked: $st $r"; fi

# hostile requests: >= 100, all 4xx, none 5xx, every one we answer (all but
# the HTTP framing errors libmicrohttpd answers itself) with the JSON error
python3 - "${A#http://}" >"$TMP/hostile.out" 2>&1 <<'PY'
import json, socket, sys
host, port = sys.argv[1].rsplit(':', 1)
port = int(port)

def raw(data, timeout=10):
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(data)
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    out = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        out += b'<timeout>'
    s.close()
    return out

def req(path, body, headers=b'', method=b'POST'):
    if isinstance(body, str):
        body = body.encode('utf-8')
    return raw(method + b' ' + path + b' HTTP/1.1\r\nHost: t\r\nConnection: close\r\n' +
               b'Content-Type: application/json\r\nContent-Length: ' + str(len(body)).encode() +
               b'\r\n' + headers + b'\r\n' + body)

cases = []
C, P = b'/v1/chat/completions', b'/v1/completions'
msg = '[{"role": "user", "content": "x"}]'
# malformed JSON
for b in ['', '{', '}', '[', '{"model"', '{"model": }', 'nul', 'true', '"str"', '42', '[]',
          '{"model": "node/e1", "prompt": "x",}', "{'model': 'node/e1'}", '{"a" "b"}',
          '{"model": "node/e1" "prompt": "x"}', '\ufeff{"model": "node/e1", "prompt": "x"}',
          '{"model": "node/e1", "prompt": "x"} trailing', '{"model": "node/e1", "prompt": "\\x41"}',
          '{"model": "node/e1", "prompt": "\\ud800"}', '{"model": "node/e1", "prompt": "a\\u0000b"}',
          '{"model": "node/e1", "model": "node/e2", "prompt": "x"}']:
    cases.append(('malformed %r' % b[:30], P, b, True))
# NaN, infinities, huge and negative numbers
for k, v in [('max_tokens', 'NaN'), ('max_tokens', 'Infinity'), ('max_tokens', '-Infinity'),
             ('max_tokens', '1e400'), ('max_tokens', '99999999999999999999999'),
             ('max_tokens', '-1'), ('max_tokens', '0'), ('max_tokens', '65537'),
             ('max_tokens', '1.5'), ('max_tokens', '"10"'), ('max_tokens', 'true'),
             ('max_tokens', '-0.0'), ('temperature', '-0.1'), ('temperature', '2.5'),
             ('temperature', '1e308'), ('temperature', '"hot"'), ('temperature', 'NaN'),
             ('top_p', '0'), ('top_p', '1.01'), ('top_p', '-1'), ('top_p', '[]'),
             ('seed', '1.5'), ('seed', '"7"'), ('seed', '18446744073709551616'),
             ('seed', '-99999999999999999999'), ('n', '0'), ('n', '-5'), ('n', '1000'),
             ('n', '2'), ('n', '1e3'), ('stream', '1'), ('stream', '"true"'), ('stream', '{}'),
             ('stop', '5'), ('stop', '[1]'), ('stop', '[""]'), ('stop', '["a","b","c","d","e"]'),
             ('stop', '"' + 'x' * 300 + '"'), ('stop', '{"a": 1}'),
             ('stream_options', '{"include_usage": true}'), ('stream_options', '{"x": 1}'),
             ('stream_options', '5'), ('frequency_penalty', '1'), ('presence_penalty', '"a"'),
             ('logprobs', 'true'), ('echo', 'true'), ('user', '5'),
             ('response_format', '{"type": "json_object"}'), ('response_format', '"text"'),
             ('tools', '[]'), ('functions', '[]'), ('best_of', '2'), ('suffix', '"x"'),
             ('model', '5'), ('model', '""'), ('model', 'null'), ('model', '"' + 'm' * 300 + '"'),
             ('prompt', '5'), ('prompt', 'null'), ('prompt', '[1, 2, 3]'), ('prompt', '["a", "b"]'),
             ('prompt', '{"text": "x"}')]:
    body = '{"model": "node/e1", "prompt": "hi", "%s": %s}' % (k, v)
    if k in ('model', 'prompt'):
        body = '{"model": "node/e1", "prompt": "hi"}'.replace('"%s": %s' % (k, '"node/e1"' if k == 'model' else '"hi"'), '"%s": %s' % (k, v))
    cases.append(('%s=%s' % (k, v[:20]), P, body, True))
# chat messages
for m in ['null', '[]', '{}', '"x"', '[1]', '[{}]', '[{"role": "user"}]', '[{"content": "x"}]',
          '[{"role": "tool", "content": "x"}]', '[{"role": "user", "content": 5}]',
          '[{"role": "user", "content": []}]', '[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]',
          '[{"role": "user", "content": [{"type": "text"}]}]', '[{"role": "user", "content": "x", "tool_calls": []}]',
          '[{"role": 5, "content": "x"}]', '[{"role": "user", "content": null}]',
          '[{"role": "user", "content": "x", "name": 5}]']:
    cases.append(('messages=%s' % m[:30], C, '{"model": "node/e1", "messages": %s}' % m, True))
cases.append(('prompt on chat', C, '{"model": "node/e1", "prompt": "x"}', True))
cases.append(('messages on completion', P, '{"model": "node/e1", "messages": %s}' % msg, True))
# deep nesting, wide objects
for depth in (65, 100, 1000, 20000):
    cases.append(('nesting %d' % depth, P, '{"model": "node/e1", "prompt": "x", "user": ' + '[' * depth + ']' * depth + '}', True))
cases.append(('nested objects', C, '{"model": "node/e1", "messages": ' + '{"a":' * 200 + '1' + '}' * 200 + '}', True))
# invalid UTF-8 and control bytes
for b in [b'{"model": "node/e1", "prompt": "\xff\xfe"}', b'{"model": "node/e1", "prompt": "\xc3"}',
          b'{"model": "node/e1", "prompt": "\xed\xa0\x80"}', b'{"model": "node/e1", "prompt": "\xf8\x88\x80\x80\x80"}',
          b'{"model": "node/\xe9", "prompt": "x"}', b'{"model": "node/e1", "prompt": "a\x00b"}',
          b'{"model": "node/e1", "prompt": "a\x01b"}', b'\x00\x00\x00\x00', b'{"mo\xffdel": 1}',
          b'{"model": "node/e1", "prompt": "\xc0\xaf"}']:
    cases.append(('utf8 %r' % b[:24], P, b, True))
# unknown routes and models
cases.append(('unknown model', P, '{"model": "gpt-4o", "prompt": "x"}', True))
cases.append(('unknown model case', P, '{"model": "NODE/E1", "prompt": "x"}', True))
cases.append(('route traversal', b'/v1/../v1/completions', '{"model": "node/e1", "prompt": "x"}', True))
cases.append(('unknown path', b'/v2/completions', '{}', True))
cases.append(('query string model', b'/v1/models?x=1', '', True))
# bad Content-Length and framing: libmicrohttpd answers these itself (4xx, its own body)
framing = [
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 1 2\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\n{}',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\n' + b'X-Flood: ' + b'a' * 100000 + b'\r\n\r\n',
    b'POST /v1/completions HTTP/1.1\r\nHost: t\r\n' + b''.join(b'X-H%d: v\r\n' % i for i in range(5000)) + b'\r\n',
]
# answered by libmicrohttpd before our code: not HTTP at all (closed without
# an answer) and an unknown HTTP version (its 505); counted apart
mhd_own = [(b'GARBAGE\r\n\r\n', (None, 400)),
           (b'POST /v1/completions HTTP/9.9\r\nHost: t\r\n\r\n', (505,))]
n_total = n_4xx = n_5xx = n_json = 0
problems = []
for name, path, body, want_json in cases:
    r = req(path, body, method=b'GET' if path.startswith(b'/v1/models') else b'POST')
    n_total += 1
    head, _, rest = r.partition(b'\r\n\r\n')
    try:
        st = int(head.split(b' ')[1])
    except Exception:
        problems.append('%s: no status: %r' % (name, r[:80]))
        continue
    if 400 <= st < 500:
        n_4xx += 1
    elif st >= 500:
        n_5xx += 1
    if not (400 <= st < 500) and not (name.startswith('query') and st == 200):
        problems.append('%s: status %d' % (name, st))
        continue
    if st == 200:
        continue
    try:
        e = json.loads(rest.decode('utf-8'))['error']
        assert set(e) == {'message', 'type', 'param', 'code'} and e['message']
        n_json += 1
    except Exception as ex:
        problems.append('%s: body %r (%s)' % (name, rest[:120], ex))
for i, f in enumerate(framing):
    r = raw(f)
    n_total += 1
    try:
        st = int(r.split(b' ')[1])
    except Exception:
        # a request the server cannot parse at all may be closed unanswered
        if r in (b'', b'<timeout>'):
            problems.append('framing %d: no answer %r' % (i, r[:60]))
        continue
    if 400 <= st < 500:
        n_4xx += 1
    else:
        if st >= 500:
            n_5xx += 1
        problems.append('framing %d: status %d' % (i, st))
n_mhd = 0
for f, allowed in mhd_own:
    r = raw(f)
    n_mhd += 1
    st = int(r.split(b' ')[1]) if r.startswith(b'HTTP/1') else None
    if st not in allowed:
        problems.append('%r: status %s, want one of %s' % (f[:20], st, allowed))
print('total %d 4xx %d 5xx %d json %d (plus %d answered by libmicrohttpd itself)' % (n_total, n_4xx, n_5xx, n_json, n_mhd))
for p in problems:
    print('PROBLEM', p)
PY
summary=$(grep '^total' "$TMP/hostile.out")
if [ -n "$summary" ] && ! grep -q PROBLEM "$TMP/hostile.out" && \
    python3 -c "import sys; t=sys.argv[1].split(); assert int(t[1])>=100 and t[5]=='0'" "$summary" 2>/dev/null; then
    ok "hostile requests: $summary"
else
    bad "hostile requests: $summary"
    sed 's/^/     | /' "$TMP/hostile.out" | head -40
fi
st=$(curl -s -o "$TMP/body" -w '%{http_code}' "$A/healthz")
check "server A still up after the hostile batch" "$st" 200
st=$(post "$A" /v1/completions '{"model": "node/e3", "prompt": "still here"}')
check "server A still serves" "$st $(py "j['choices'][0]['text']")" "200 still here"

# 48 requests at once over 16 connections' worth of clients: every one
# answered 200 with its own prompt and its own task
mkdir "$TMP/par"
i=0
while [ $i -lt 48 ]; do echo $i; i=$((i + 1)); done | xargs -P 16 -I{} sh -c \
    "curl -s --max-time 30 -o '$TMP/par/{}.json' -w '%{http_code}\n' -H 'Content-Type: application/json' \
     -d '{\"model\": \"swarm/ensemble-3\", \"prompt\": \"request {}\"}' '$A/v1/completions'" >"$TMP/par.st"
r=$(python3 - "$TMP/par" <<'PY'
import json, os, sys
d = sys.argv[1]
tasks, bad = set(), []
for f in os.listdir(d):
    j = json.load(open(os.path.join(d, f)))
    n = f.split('.')[0]
    if j['choices'][0]['text'] != 'request ' + n:
        bad.append(f)
    tasks.add(j['swarm']['task'])
print(len(os.listdir(d)), len(tasks), len(bad))
PY
)
check "48 concurrent requests: 200 each, own answer, own task" "$(sort -u "$TMP/par.st" | tr '\n' ' ')$r" "200 48 48 0"

kill -TERM "$A_PID"
wait "$A_PID"
check "SIGTERM on an idle server: exit 0" "$?" 0

# ---------------------------------------------------------------- server B
# slow echo nodes (1.5 s per generation, streamed word by word), one task in
# flight at most, API keys
cat >"$TMP/slow.json" <<'J'
{"nodes": [{"name": "s1", "backend": {"type": "echo", "latency_ms": 1500}, "capacity": 1, "skills": {"*": 0.9}}]}
J
printf '# keys for the test\n\nkey-one-%s\n  key-two  \n' "$$" >"$TMP/keys"
K1="key-one-$$"
start B --swarm "$TMP/slow.json" --queue-cap 1 --api-key-file "$TMP/keys" --log
B=$URL
B_PID=$PID
# every route but /healthz: no key, wrong key, wrong scheme -> 401 JSON
for route in "GET /v1/models" "POST /v1/chat/completions" "POST /v1/completions"; do
    m=${route% *} p=${route#* }
    for h in "X-None: 1" "Authorization: Bearer wrong" "Authorization: Basic $K1" \
             "Authorization: Bearer ${K1}x" "Authorization: Bearer key-on" "Authorization: $K1" \
             "Authorization: Bearer"; do
        st=$(curl -s -o "$TMP/body" -w '%{http_code}' -X "$m" -H "$h" -H 'Content-Type: application/json' \
            -d '{"model": "node/s1", "prompt": "x"}' "$B$p")
        r=$(is_error invalid_api_key)
        if [ "$st" != 401 ] || [ -n "$r" ]; then bad "401 for $route with '$h': $st $r"; continue; fi
        cases=$((cases + 1))
    done
done
ok "every keyed route x 7 bad credentials: 401 with the JSON error"
st=$(curl -s -o "$TMP/body" -w '%{http_code}' "$B/healthz")
check "/healthz needs no key" "$st" 200
st=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: Bearer $K1" "$B/v1/models")
check "a valid key (first)" "$st" 200
st=$(curl -s -o "$TMP/body" -w '%{http_code}' -H "Authorization: bearer key-two" "$B/v1/models")
check "a valid key (second, trimmed, scheme any case)" "$st" 200
if grep -q "$K1\|key-two" "$TMP/B.err"; then bad "a key appears in the server's log"; else ok "keys never logged"; fi

AUTH="Authorization: Bearer $K1"
# 429: one task in flight fills the queue (cap 1)
OUT=$TMP/first.body post "$B" /v1/completions '{"model": "node/s1", "prompt": "first in line"}' -H "$AUTH" >"$TMP/first.st" &
FIRST=$!
sleep 0.5
st=$(curl -s -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"model": "node/s1", "prompt": "second"}' "$B/v1/completions")
r=$(is_error queue_full)
ra=$(tr -d '\r' <"$TMP/hdr" | sed -n 's/^Retry-After: //ip')
if [ "$st" = 429 ] && [ -z "$r" ] && [ -n "$ra" ]; then ok "queue full: 429 with Retry-After $ra"; else
    bad "429: status $st retry-after '$ra' $r"; fi
wait $FIRST
check "the request in flight still finished" "$(cat "$TMP/first.st")" 200

# a client that leaves mid-stream: its task is canceled, and the queue slot
# is free again at once (cap 1: a leaked task would make the next one 429)
curl -sN --max-time 0.6 -H "$AUTH" -H 'Content-Type: application/json' -o "$TMP/part" \
    -d '{"model": "node/s1", "prompt": "a long story about many things that go on and on", "stream": true}' \
    "$B/v1/completions"
t_gone=$(date +%s%N)
got=""
i=0
while [ $i -lt 40 ] && [ -z "$got" ]; do
    got=$(grep 'canceled (client gone)' "$TMP/B.err")
    [ -z "$got" ] && sleep 0.05
    i=$((i + 1))
done
t_cancel=$(date +%s%N)
if [ -n "$got" ] && grep -q '^data: ' "$TMP/part"; then
    ok "client gone mid-stream: task canceled ($(((t_cancel - t_gone) / 1000000)) ms after curl left, polled every 50 ms)"
else
    bad "client gone mid-stream: no cancel in the log ($(grep -c '^data: ' "$TMP/part") chunks received)"
fi
st=$(post "$B" /v1/completions '{"model": "node/s1", "prompt": "after the disconnect"}' -H "$AUTH")
check "the server still serves after the disconnect (slot freed)" "$st $(py "j['choices'][0]['text']")" \
    "200 after the disconnect"

# SIGTERM while a request runs: it finishes, new connections are refused, exit 0
OUT=$TMP/drain.body post "$B" /v1/completions '{"model": "node/s1", "prompt": "draining"}' -H "$AUTH" >"$TMP/drain.st" &
DR=$!
sleep 0.4
kill -TERM "$B_PID"
sleep 0.2
if curl -s -o /dev/null --max-time 2 "$B/healthz"; then bad "new connections refused while draining"; else
    ok "new connections refused while draining"; fi
wait $DR
cp "$TMP/drain.body" "$TMP/body"
check "the running request finished during the drain" "$(cat "$TMP/drain.st") $(py "j['choices'][0]['text']")" "200 draining"
wait "$B_PID"
check "SIGTERM with a request running: exit 0" "$?" 0

# bad options are refused before listening
"$BIN" serve --swarm "$TMP/slow.json" --listen 0.0.0.0:0 2>"$TMP/e"
check "non-loopback without keys refused" "$? $(grep -c 'without API keys' "$TMP/e")" "2 1"
"$BIN" serve --swarm "$TMP/slow.json" --listen nowhere 2>"$TMP/e"
check "bad --listen refused" "$?" 2
printf '\n# only comments\n' >"$TMP/nokeys"
"$BIN" serve --swarm "$TMP/slow.json" --api-key-file "$TMP/nokeys" 2>"$TMP/e"
check "a keys file without keys refused" "$? $(grep -c 'no API key' "$TMP/e")" "2 1"
printf '{"routes": {"r/x": {"input": "fixed"}}}' >"$TMP/routes.json"
"$BIN" serve --swarm "$TMP/slow.json" --routes "$TMP/routes.json" 2>"$TMP/e"
check "a route setting input refused" "$? $(grep -c 'must not set' "$TMP/e")" "2 1"

# a routes file replaces the built-in routes
printf '{"builtin": false, "routes": {"my/pipe": {"decomposition": {"strategy": "ensemble", "k": 2}, "aggregation": {"method": "consensus"}}}}' >"$TMP/routes.json"
start C --swarm "$TMP/slow.json" --echo --routes "$TMP/routes.json" --conn-timeout 1
curl -s -o "$TMP/body" "$URL/v1/models"
check "routes file: only its routes" "$(py "[m['id'] for m in j['data']]")" "['my/pipe']"
st=$(post "$URL" /v1/completions '{"model": "my/pipe", "prompt": "two members"}')
check "routes file route runs" "$st $(py "j['swarm']['subtasks']")" "200 2"
# a body trickled in byte by byte (slow-loris) is cut off after the
# connection timeout (1 s here), though every byte comes within it
r=$(python3 - "${URL#http://}" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(':', 1)
s = socket.create_connection((host, int(port)), timeout=10)
body = b'{"model": "my/pipe", "prompt": "' + b'x' * 100 + b'"}'
s.sendall(b'POST /v1/completions HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n' % len(body))
t0 = time.monotonic()
try:
    for i in range(len(body)):
        s.sendall(body[i:i + 1])
        time.sleep(0.1)
    print('all sent: not cut')
except OSError:
    print('cut after %.1f s' % (time.monotonic() - t0))
PY
)
case $r in "cut after "[12]*) ok "slow body: $r" ;; *) bad "slow body: $r" ;; esac
kill -TERM "$PID"
wait "$PID"
check "server C exit 0" "$?" 0

# a sanitizer build reports on the servers' stderr
if cat "$TMP"/*.err | grep -q 'Sanitizer\|runtime error:'; then
    bad "sanitizer report in a server's stderr"
    cat "$TMP"/*.err | grep -A20 'Sanitizer\|runtime error:' | head -40
else
    ok "no sanitizer report from the servers"
fi

echo "$cases cases, $fails failed"
[ "$fails" -eq 0 ]
