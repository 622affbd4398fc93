<?php
// Oracle for tests/composer: answers questions with Composer's own semver code.
//
// Usage: php oracle.php [path/to/Composer/Semver/autoload.php]
// Reads one JSON array per line on stdin and writes one JSON value per line on stdout:
//   ["n", s]      VersionParser::normalize(s)              -> string, or null if it throws
//   ["nb", s]     VersionParser::normalizeBranch(s)        -> string
//   ["s", s]      VersionParser::parseStability(s)         -> string
//   ["c", s]      (string) VersionParser::parseConstraints(s) -> string, or null if it throws
//   ["vc", a, b]  version_compare(a, b)                    -> -1, 0 or 1
//   ["cmp", a, b] [Comparator::lessThan, equalTo, greaterThan](a, b) -> [bool, bool, bool]
//   ["rsort", [v...]] Semver::rsort([v...])                -> [v...]
//   ["info"]      {"php": PHP_VERSION, "autoload": path}
// Strings travel JSON-encoded, so "\r", "\n", NUL and any other byte arrive intact.
// Any other exception, or any PHP warning/notice raised during a request, is reported as
// {"error": "..."} / {"warnings": [...], "result": ...} so the caller can fail loudly.

$autoload = $argv[1] ?? '/usr/share/php/Composer/Semver/autoload.php';
if (!is_file($autoload)) {
    fwrite(STDERR, "composer/semver autoloader not found at $autoload\n");
    exit(3);
}
require $autoload;

use Composer\Semver\Comparator;
use Composer\Semver\Semver;
use Composer\Semver\VersionParser;

ini_set('display_errors', 'stderr');
error_reporting(E_ALL);
$warnings = array();
set_error_handler(function ($errno, $errstr) use (&$warnings) {
    $warnings[] = $errstr;
    return true;
});

$parser = new VersionParser();
$flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE;

while (($line = fgets(STDIN)) !== false) {
    $line = rtrim($line, "\n");
    if ($line === '') {
        continue;
    }
    $warnings = array();
    $req = json_decode($line, true);
    try {
        if (!is_array($req)) {
            throw new \RuntimeException('bad request line: ' . $line);
        }
        switch ($req[0]) {
            case 'n':
                try {
                    $result = $parser->normalize($req[1]);
                } catch (\UnexpectedValueException $e) {
                    $result = null;
                }
                break;
            case 'nb':
                $result = $parser->normalizeBranch($req[1]);
                break;
            case 's':
                $result = VersionParser::parseStability($req[1]);
                break;
            case 'c':
                try {
                    $result = (string) $parser->parseConstraints($req[1]);
                } catch (\UnexpectedValueException $e) {
                    $result = null;
                }
                break;
            case 'vc':
                $result = version_compare($req[1], $req[2]);
                break;
            case 'cmp':
                $result = array(
                    Comparator::lessThan($req[1], $req[2]),
                    Comparator::equalTo($req[1], $req[2]),
                    Comparator::greaterThan($req[1], $req[2]),
                );
                break;
            case 'rsort':
                $result = Semver::rsort($req[1]);
                break;
            case 'info':
                $result = array('php' => PHP_VERSION, 'autoload' => realpath($autoload));
                break;
            default:
                throw new \RuntimeException('unknown request: ' . $req[0]);
        }
        if ($warnings) {
            $result = array('warnings' => $warnings, 'result' => $result);
        }
    } catch (\Throwable $e) {
        $result = array('error' => get_class($e) . ': ' . $e->getMessage(), 'warnings' => $warnings);
    }
    echo json_encode($result, $flags), "\n";
}
