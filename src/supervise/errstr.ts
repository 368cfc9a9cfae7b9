// Error texts as djb's error_str prints them: admins grep logs for these
// exact words ("file does not exist", "temporary failure"), not for strerror's.
const TEXT: Record<string, string> = {
  ENOENT: 'file does not exist',
  EACCES: 'access denied',
  EPERM: 'permission denied',
  EAGAIN: 'temporary failure',
  EWOULDBLOCK: 'temporary failure',
  ENXIO: 'device not configured',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file already exists',
  ENOEXEC: 'exec format error',
  ENOMEM: 'out of memory',
  EMFILE: 'process cannot open more files',
  ENFILE: 'system cannot open more files',
  EBADF: 'file descriptor not open',
  EIO: 'input/output error',
  ELOOP: 'symbolic link loop',
  ENAMETOOLONG: 'file name too long',
  EROFS: 'read-only file system',
  ENOSPC: 'out of disk space',
  EPIPE: 'broken pipe',
  ETXTBSY: 'text busy',
  EBUSY: 'device busy',
  ESRCH: 'no such process',
  E2BIG: 'argument list too long',
  EINVAL: 'invalid argument',
  EINTR: 'interrupted system call',
};

export function errstr(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  if (code && TEXT[code]) return TEXT[code];
  if (code) return code.toLowerCase();
  return String((e as Error)?.message ?? e);
}
