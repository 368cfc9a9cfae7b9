// System error texts worded as djb's error_str(), which ipsvd, ucspi-tcp and
// daemontools print after "fatal: ...: ". Admins grep their logs for these.
const TEXT: Record<string, string> = {
  ENOENT: 'file does not exist',
  EACCES: 'access denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file already exists',
  ENOSPC: 'out of disk space',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EIO: 'input/output error',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'file name too long',
  EXDEV: 'cross-device link',
  EBUSY: 'device busy',
  ENOMEM: 'out of memory',
  EMFILE: 'out of file descriptors',
  ENFILE: 'file table overflow',
  EINTR: 'interrupted system call',
  EAGAIN: 'temporary failure',
  EINVAL: 'invalid argument',
  EBADF: 'file descriptor not open',
  ENOTEMPTY: 'directory not empty',
  EFBIG: 'file too big',
  ETXTBSY: 'text busy',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'timed out',
};

export function errstr(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && TEXT[code]) return TEXT[code];
  return e instanceof Error ? e.message : String(e);
}
