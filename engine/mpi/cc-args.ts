/**
 * Reads an mpicc command line the way a compiler driver does, so `roam cc` can pass it to clang
 * unchanged: which words are option values (`-I dir`, `-D NAME=V`, `-o out`, `-l m` ...), which are
 * inputs, whether the command links, and the wrapper's own options (`-show`, `--version`).
 */

/** clang options whose value may be the next word (JoinedOrSeparate or Separate in clang's Options.td). */
const SEPARATE = new Set([
  '-o', '-I', '-D', '-U', '-L', '-l', '-x', '-u', '-z', '-T', '-e', '-F', '-MF', '-MT', '-MQ', '-MJ',
  '-include', '-imacros', '-isystem', '-idirafter', '-iquote', '-iprefix', '-iwithprefix', '-iwithprefixbefore',
  '-isysroot', '-Xlinker', '-Xclang', '-Xpreprocessor', '-Xassembler', '-Xanalyzer', '-mllvm', '--param',
  '-target', '-arch', '-working-directory', '-ivfsoverlay', '-cxx-isystem', '--sysroot', '-serialize-diagnostics',
]);

/** Options that stop clang before the link step (MPICH's mpicc uses the same rule to drop its link flags). */
const NO_LINK = new Set(['-c', '-S', '-E', '-M', '-MM', '-fsyntax-only', '-emit-llvm', '-###', '--precompile']);

/** The wrapper's own options: print the command instead of running it (MPICH: -show, Open MPI: --showme). */
const SHOW: Record<string, 'all' | 'compile' | 'link'> = {
  '-show': 'all', '--showme': 'all', '-showme': 'all',
  '-compile-info': 'compile', '-compile_info': 'compile', '--showme:compile': 'compile',
  '-link-info': 'link', '-link_info': 'link', '--showme:link': 'link',
};

export interface CcCommand {
  /** The user's words for clang, in order, without the wrapper's own options. */
  args: string[];
  /** Positional inputs (sources, objects, archives), in order, and their indices in `args`. */
  inputs: string[];
  inputAt: number[];
  /** Indices into `args` of `-l` values and `-L` dirs, for archive lookup. */
  libs: Array<{ at: number; joined: boolean; name: string }>;
  libDirs: string[];
  links: boolean;
  /** -g given: keep debug info (no --strip-all). */
  debug: boolean;
  show: 'all' | 'compile' | 'link' | null;
  version: boolean;
}

export function parseCc(argv: string[]): CcCommand {
  const c: CcCommand = { args: [], inputs: [], inputAt: [], libs: [], libDirs: [], links: true, debug: false, show: null, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a in SHOW) {
      c.show = SHOW[a];
      continue;
    }
    if (a === '--version') {
      c.version = true;
      continue;
    }
    c.args.push(a);
    if (a === '-' || !a.startsWith('-')) {
      c.inputs.push(a);
      c.inputAt.push(c.args.length - 1);
      continue;
    }
    if (NO_LINK.has(a)) c.links = false;
    if (a === '-g' || /^-g(gdb|dwarf|[0-3]$)/.test(a)) c.debug = true;
    if (SEPARATE.has(a) && i + 1 < argv.length) {
      const v = argv[++i];
      c.args.push(v);
      if (a === '-l') c.libs.push({ at: c.args.length - 1, joined: false, name: v });
      if (a === '-L') c.libDirs.push(v);
      continue;
    }
    if (a.startsWith('-l')) c.libs.push({ at: c.args.length - 1, joined: true, name: a.slice(2) });
    else if (a.startsWith('-L')) c.libDirs.push(a.slice(2));
  }
  return c;
}

/** Quotes a word for a POSIX shell only when it needs it (for -show). */
export function shellQuote(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}
