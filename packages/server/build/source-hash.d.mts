export declare const PACKAGE_ROOT: string;
export declare const DIST: string;
export declare function sourceHash(): string;
export declare function buildDir(hash: string): string;
