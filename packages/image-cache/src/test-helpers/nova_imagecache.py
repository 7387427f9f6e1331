"""Runs nova's own image-cache manager (nova/virt/imagecache.py and nova/virt/libvirt/imagecache.py,
unmodified, from Debian's python3-nova) over an instances_path and prints what it logged and removed.

Only the modules those two files import and that pull in nova's whole service stack are replaced
(nova.conf, nova.utils, nova.privsep, nova.objects, nova.compute states, nova.virt.block_device,
nova.virt.libvirt.utils); the oslo libraries are the real ones. The instance list, which nova reads
from its database, is given on the command line as JSON.

usage: nova_imagecache.py NOVA_SITE_DIR CONF_JSON INSTANCES_JSON
"""
import importlib.util
import json
import logging
import os
import subprocess
import sys
import types

site, conf_json, instances_json = sys.argv[1:4]
settings = json.loads(conf_json)
instances = json.loads(instances_json)

from oslo_config import cfg  # noqa: E402

CONF = cfg.ConfigOpts()
CONF.register_opts([cfg.StrOpt('instances_path'), cfg.StrOpt('host', default='compute-1')])
group = cfg.OptGroup('image_cache')
CONF.register_group(group)
CONF.register_opts([
    cfg.StrOpt('subdirectory_name', default='_base'),
    cfg.BoolOpt('remove_unused_base_images', default=True),
    cfg.IntOpt('remove_unused_original_minimum_age_seconds', default=24 * 3600),
    cfg.IntOpt('remove_unused_resized_minimum_age_seconds', default=3600),
], group=group)
CONF(args=[], project='nova', default_config_files=[], default_config_dirs=[])
CONF.set_override('instances_path', settings['instances_path'])
for key in ('subdirectory_name', 'remove_unused_base_images',
            'remove_unused_original_minimum_age_seconds', 'remove_unused_resized_minimum_age_seconds'):
    if key in settings:
        CONF.set_override(key, settings[key], group='image_cache')


def stub(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    parent, _, leaf = name.rpartition('.')
    if parent:
        setattr(sys.modules[parent], leaf, mod)
    return mod


def backing_file(path, basename=True, format=None):
    # nova.virt.libvirt.utils.get_disk_backing_file: qemu-img info's backing file, basename only.
    out = subprocess.run(['qemu-img', 'info', '-U', '--output=json', path], check=True, capture_output=True, text=True).stdout
    bf = json.loads(out).get('backing-filename')
    return os.path.basename(bf) if bf and basename else bf


def synchronized(name, external=False, lock_path=None):
    return lambda f: f


nova = stub('nova')
nova.__path__ = [os.path.join(site, 'nova')]
stub('nova.conf', CONF=CONF)
stub('nova.utils', synchronized=synchronized)
stub('nova.privsep')
stub('nova.privsep.path', utime=lambda p: os.utime(p, None))
stub('nova.objects')
stub('nova.compute')
stub('nova.compute.task_states', RESIZE_PREP='resize_prep', RESIZE_MIGRATING='resize_migrating',
     RESIZE_MIGRATED='resize_migrated', RESIZE_FINISH='resize_finish')
stub('nova.compute.vm_states', RESIZED='resized')
stub('nova.virt').__path__ = [os.path.join(site, 'nova', 'virt')]
stub('nova.virt.block_device')
stub('nova.virt.libvirt').__path__ = [os.path.join(site, 'nova', 'virt', 'libvirt')]
stub('nova.virt.libvirt.utils', get_disk_backing_file=backing_file)


def load(name, rel):
    spec = importlib.util.spec_from_file_location(name, os.path.join(site, rel))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    parent, _, leaf = name.rpartition('.')
    setattr(sys.modules[parent], leaf, mod)
    spec.loader.exec_module(mod)
    return mod


load('nova.virt.imagecache', 'nova/virt/imagecache.py')
libvirt_imagecache = load('nova.virt.libvirt.imagecache', 'nova/virt/libvirt/imagecache.py')

lines = []


class Capture(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.INFO:
            lines.append({'level': record.levelname.lower(), 'message': record.getMessage()})


logger = logging.getLogger('nova.virt.libvirt.imagecache')
logger.setLevel(logging.DEBUG)
logger.addHandler(Capture())
logger.propagate = False

base_dir = os.path.join(CONF.instances_path, CONF.image_cache.subdirectory_name)
before = set(os.listdir(base_dir))
manager = libvirt_imagecache.ImageCacheManager()
# What nova's database says about the instances on this host (the one input nova does not read from disk).
manager._list_running_instances = lambda context, all_instances: {
    'used_images': {i: (1, 0, ['instance']) for i in instances.get('used_images', [])},
    'instance_names': set(instances.get('instance_names', [])),
    'used_swap_images': set(instances.get('used_swap_images', [])),
    'used_ephemeral_images': set(instances.get('used_ephemeral_images', [])),
}
manager.update(None, [])
after = set(os.listdir(base_dir))
print(json.dumps({'log': lines, 'removed': sorted(before - after)}))
