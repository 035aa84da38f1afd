/// <reference types="node" />
/**
 * The workerd processes a `wrangler dev` spawned, read from /proc (Linux only): wrangler is
 * started as the leader of its own process group, and its workerd children stay in that group.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ProcSample {
  pid: number;
  rssKiB: number;
  /** User + system CPU time so far, in seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Every workerd process of the group, with its resident memory and CPU time. */
export function workerdOf(processGroup: number): ProcSample[] {
  const out: ProcSample[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces; the numbered fields follow the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
      if (comm !== 'workerd' || Number(fields[2]) !== processGroup) continue;
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const rss = /VmRSS:\s+(\d+) kB/.exec(status);
      out.push({
        pid: Number(entry),
        rssKiB: rss ? Number(rss[1]) : 0,
        cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
      });
    } catch {
      // The process ended while we read it.
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}

export const totalRssKiB = (s: ProcSample[]) => s.reduce((sum, p) => sum + p.rssKiB, 0);
export const totalCpuSeconds = (s: ProcSample[]) => s.reduce((sum, p) => sum + p.cpuSeconds, 0);

/** TCP ports the process listens on: its socket inodes matched against the LISTEN rows of /proc/net/tcp. */
export function listeningPorts(pid: number): number[] {
  const inodes = socketInodes(pid);
  const ports: number[] = [];
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    // local_address is "HEX_IP:HEX_PORT", st 0A is LISTEN, inode is the tenth column.
    if (cols.length < 10 || cols[3] !== '0A' || !inodes.has(cols[9] as string)) continue;
    ports.push(parseInt((cols[1] as string).split(':')[1] as string, 16));
  }
  return ports;
}

/** The process whose command line contains `needle` and that listens on TCP `port` (e.g. the media server), or null. */
export function pidListeningOn(port: number, needle: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) continue;
    } catch {
      continue;
    }
    if (listeningPorts(Number(entry)).includes(port)) return Number(entry);
  }
  return null;
}

/** CPU time of one process, all its threads together and its main thread (the JS thread of Node) alone. */
export interface ProcessCpu {
  /** User + system seconds of every thread, those that ended included (/proc/<pid>/stat). */
  total: number;
  /** User + system seconds of the main thread (/proc/<pid>/task/<pid>/stat). */
  main: number;
  /** Per live thread: its name and user + system seconds. */
  threads: { tid: number; comm: string; cpuSeconds: number }[];
  rssKiB: number;
}

function statCpu(path: string): { comm: string; cpuSeconds: number } {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
}

export function processCpu(pid: number): ProcessCpu {
  const threads: ProcessCpu['threads'] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      threads.push({ tid: Number(tid), ...statCpu(`/proc/${pid}/task/${tid}/stat`) });
    } catch {
      // The thread ended while we read it.
    }
  }
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return {
    total: statCpu(`/proc/${pid}/stat`).cpuSeconds,
    main: statCpu(`/proc/${pid}/task/${pid}/stat`).cpuSeconds,
    threads,
    rssKiB: rss ? Number(rss[1]) : 0,
  };
}

/** The inodes of a process's sockets (its file descriptors that are sockets). */
function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1] as string);
      } catch {
        // The descriptor closed while we looked.
      }
    }
  } catch {
    // The process is gone.
  }
  return inodes;
}

/**
 * Datagrams the kernel dropped on arrival at the process's UDP sockets (their receive buffers were
 * full), so far: the `drops` column of /proc/net/udp and udp6 for the sockets it holds now.
 */
export function udpDrops(pid: number): number {
  const inodes = socketInodes(pid);
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // inode is the tenth column, drops the last.
      if (cols.length >= 13 && inodes.has(cols[9] as string)) drops += Number(cols[cols.length - 1]);
    }
  }
  return drops;
}
