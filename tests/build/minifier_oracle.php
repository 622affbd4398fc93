<?php
// Oracle for tests/build: Composer's own MetadataMinifier and ArrayLoader.
// Input: one p2 document (JSON) per line on stdin. Output: one JSON line per document:
// {"expanded": {name: [...]}, "reminified": {name: [...]}, "loaded": {name: [[pretty, normalized, type], ...]}}
require $argv[1];

use Composer\MetadataMinifier\MetadataMinifier;
use Composer\Package\Loader\ArrayLoader;

$loader = new ArrayLoader();
while (($line = fgets(STDIN)) !== false) {
    $line = rtrim($line, "\n");
    if ($line === '') {
        continue;
    }
    $doc = json_decode($line, true, 512, JSON_THROW_ON_ERROR);
    $out = ['expanded' => [], 'reminified' => [], 'loaded' => []];
    foreach ($doc['packages'] as $name => $versions) {
        $expanded = $doc['minified'] === 'composer/2.0' ? MetadataMinifier::expand($versions) : $versions;
        $out['expanded'][$name] = $expanded;
        $out['reminified'][$name] = MetadataMinifier::minify($expanded);
        $loaded = [];
        foreach ($loader->loadPackages($expanded) as $package) {
            $loaded[] = [
                $package->getPrettyVersion(),
                $package->getVersion(),
                $package->getType(),
                $package->getDistUrl(),
                $package->isAbandoned(),
                array_map(fn ($link) => $link->getPrettyConstraint(), $package->getRequires()),
            ];
        }
        $out['loaded'][$name] = $loaded;
    }
    echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR), "\n";
}
