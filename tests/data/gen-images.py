# Builds the small archives the image-store unit tests import: a rootfs tar, an OCI
# image layout or a docker-save archive (layers named on the command line), or a
# VM kernel bundle. Deterministic, so digests are stable. Usage:
#   gen-images.py rootfs|oci|docker|kernel OUT [LAYER...] [gz] [--corrupt] [novmlinuz]
import sys, tarfile, io, gzip, hashlib, json
def tar_bytes(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.USTAR_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.mtime = 1700000000
            ti.uid = ti.gid = 0; ti.uname = ti.gname = 'root'
            if data is None:
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
            else:
                ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
def gz(data):
    b = io.BytesIO()
    with gzip.GzipFile(fileobj=b, mode='wb', mtime=0) as g: g.write(data)
    return b.getvalue()
def sha(d): return 'sha256:' + hashlib.sha256(d).hexdigest()
def layer(n): return tar_bytes([('l', None), ('l/%s.txt' % n, n.encode())])
cmd, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
corrupt = '--corrupt' in args
names = [a for a in args if not a.startswith('--')]
if cmd == 'rootfs':
    data = tar_bytes([('etc', None), ('etc/hello', b'hi\n'), ('bin', None),
                      ('bin/sh', b'#!fake\n')])
    open(out, 'wb').write(gz(data) if 'gz' in names else data)
elif cmd in ('oci', 'docker'):
    tars = [layer(n) for n in names]
    cfg = {'architecture': 'amd64', 'os': 'linux', 'config': {
        'Entrypoint': ['/bin/sh'], 'Cmd': ['-c', 'echo hi'], 'Env': ['PATH=/bin'],
        'WorkingDir': '/l', 'User': '1000', 'ExposedPorts': {'80/tcp': {}},
        'Labels': {'a': 'b'}},
        'rootfs': {'type': 'layers', 'diff_ids': [sha(t) for t in tars]}}
    cfgb = json.dumps(cfg, sort_keys=True).encode()
    files = []
    if cmd == 'oci':
        gzs = [gz(t) for t in tars]
        man = {'schemaVersion': 2,
               'mediaType': 'application/vnd.oci.image.manifest.v1+json',
               'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',
                          'digest': sha(cfgb), 'size': len(cfgb)},
               'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip',
                           'digest': sha(g), 'size': len(g)} for g in gzs]}
        manb = json.dumps(man).encode()
        idx = {'schemaVersion': 2, 'manifests': [{
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': sha(manb), 'size': len(manb),
            'annotations': {'org.opencontainers.image.ref.name': 'latest'}}]}
        files = [('oci-layout', b'{"imageLayoutVersion":"1.0.0"}'),
                 ('index.json', json.dumps(idx).encode()), ('blobs', None),
                 ('blobs/sha256', None)]
        for b in gzs + [cfgb, manb]:
            files.append(('blobs/sha256/' + sha(b)[7:], b))
        if corrupt:
            p, b = files[4 + len(gzs) - 1]
            files[4 + len(gzs) - 1] = (p, b[:20] + bytes([b[20] ^ 1]) + b[21:])
        print(sha(manb))
    else:
        m = [{'Config': sha(cfgb)[7:] + '.json', 'RepoTags': ['x:latest'],
              'Layers': [sha(t)[7:] + '/layer.tar' for t in tars]}]
        files = [('manifest.json', json.dumps(m).encode()),
                 (sha(cfgb)[7:] + '.json', cfgb)]
        for t in tars:
            files += [(sha(t)[7:], None), (sha(t)[7:] + '/layer.tar', t)]
        print(sha(cfgb))
    open(out, 'wb').write(tar_bytes(files))
elif cmd == 'kernel':
    files = [('initrd', b'initrd'), ('cmdline', b'console=ttyS0 quiet\n')]
    if 'novmlinuz' not in names: files.append(('vmlinuz', b'MZkernel'))
    open(out, 'wb').write(tar_bytes(files))
