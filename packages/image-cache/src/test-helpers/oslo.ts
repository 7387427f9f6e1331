import { exec } from '@xenkit/fixtures';

// The options nova's image cache reads, declared to oslo.config exactly as nova/conf/imagecache.py and
// nova/conf/{paths,compute}.py declare them, so the real library resolves a nova.conf for comparison.
const SCRIPT = String.raw`
import json, sys
from oslo_config import cfg
def resolve(args):
    conf = cfg.ConfigOpts()
    conf.register_opts([
        cfg.StrOpt('state_path', default='/var/lib/nova'),
        cfg.StrOpt('instances_path', default='$state_path/instances'),
        cfg.StrOpt('preallocate_images', default='none', choices=('none', 'space')),
        cfg.StrOpt('my_ip'),
    ])
    group = cfg.OptGroup('image_cache')
    conf.register_group(group)
    conf.register_opts([
        cfg.IntOpt('manager_interval', default=2400, min=-1,
                   deprecated_name='image_cache_manager_interval', deprecated_group='DEFAULT'),
        cfg.StrOpt('subdirectory_name', default='_base',
                   deprecated_name='image_cache_subdirectory_name', deprecated_group='DEFAULT'),
        cfg.BoolOpt('remove_unused_base_images', default=True, deprecated_group='DEFAULT'),
        cfg.IntOpt('remove_unused_original_minimum_age_seconds', default=24 * 3600, deprecated_group='DEFAULT'),
        cfg.IntOpt('remove_unused_resized_minimum_age_seconds', default=3600, deprecated_group='libvirt'),
    ], group=group)
    try:
        conf(args=args, project='nova', default_config_files=[], default_config_dirs=[])
        ic = conf.image_cache
        return ({
            'instancesPath': conf.instances_path,
            'subdirectoryName': ic.subdirectory_name,
            'removeUnusedBaseImages': ic.remove_unused_base_images,
            'originalMinimumAgeSeconds': ic.remove_unused_original_minimum_age_seconds,
            'resizedMinimumAgeSeconds': ic.remove_unused_resized_minimum_age_seconds,
            'managerInterval': ic.manager_interval,
            'preallocateImages': conf.preallocate_images,
        })
    except Exception as e:
        return {'error': type(e).__name__, 'message': str(e)}

if sys.argv[1] == '--each':
    print(json.dumps([resolve(['--config-file', f]) for f in sys.argv[2:]]))
else:
    print(json.dumps(resolve(sys.argv[1:])))
`;

export type OsloResult =
  | {
      instancesPath: string;
      subdirectoryName: string;
      removeUnusedBaseImages: boolean;
      originalMinimumAgeSeconds: number;
      resizedMinimumAgeSeconds: number;
      managerInterval: number;
      preallocateImages: string;
    }
  | { error: string; message: string };

/** Resolve nova.conf files with the real oslo.config (Debian's python3-oslo.config under /usr/bin/python3). */
export function osloResolve(files: string[], dirs: string[] = []): OsloResult {
  const args = [...files.flatMap((f) => ['--config-file', f]), ...dirs.flatMap((d) => ['--config-dir', d])];
  const r = exec('/usr/bin/python3', ['-c', SCRIPT, ...args]);
  return JSON.parse(r.stdout) as OsloResult;
}

/** Resolve each file on its own, in one python process (for differential fuzzing). */
export function osloResolveEach(files: string[]): OsloResult[] {
  const r = exec('/usr/bin/python3', ['-c', SCRIPT, '--each', ...files]);
  return JSON.parse(r.stdout) as OsloResult[];
}
