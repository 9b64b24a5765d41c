"""Interoperability of Shield's TAXII 2.1 server with the OASIS Python clients.

Driven by crates/federation/tests/python_interop.rs, which starts a server and passes:
  SHIELD_TAXII_URL     discovery URL (http://127.0.0.1:PORT/taxii2/)
  SHIELD_TAXII_WRITER  token of a peer of organisation "a" (may write `indicators`)
  SHIELD_TAXII_READER  token of a peer of organisation "b"
  SHIELD_PRELOADED     how many objects the test stored before (Shield-made objects)

taxii2-client does discovery, lists collections, adds objects, reads them back with pagination
and added_after, reads the manifest and versions, deletes; stix2-validator validates every
object the server serves. Prints one "ok:" line per check and exits non-zero on the first
failure.
"""

import json
import os
import sys
import uuid

import requests
import stix2
from stix2validator import ValidationOptions, validate_instance
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TAXII = "application/taxii+json;version=2.1"


def check(condition, what):
    if not condition:
        print("FAILED: " + what, file=sys.stderr)
        sys.exit(1)
    print("ok: " + what)


def objects_of(envelope):
    return envelope.get("objects", [])


def main():
    url = os.environ["SHIELD_TAXII_URL"]
    writer = os.environ["SHIELD_TAXII_WRITER"]
    reader = os.environ["SHIELD_TAXII_READER"]
    preloaded = int(os.environ["SHIELD_PRELOADED"])

    # Discovery and API root, with HTTP Basic (password = token).
    server = Server(url, user="node-a", password=writer)
    check(server.title == "Shield TAXII 2.1", "discovery title")
    check(len(server.api_roots) == 1 and server.default is not None, "one default API root")
    root = server.default
    check(root.versions == [TAXII], "API root versions")
    check(root.max_content_length > 0, "API root max_content_length")
    collections = {c.alias: c for c in root.collections}
    check(set(collections) == {"indicators", "shared"}, "collections listed")
    indicators = collections["indicators"]
    check(indicators.can_read and indicators.can_write, "peer may read and write indicators")

    # Objects made with the stix2 library, GREEN and AMBER.
    identity = stix2.Identity(name="CERT A", identity_class="organization")
    malware = stix2.Malware(name="Loader X", is_family=False, created_by_ref=identity.id)
    made = [identity, malware]
    for n in range(23):
        tlp = TLP_AMBER if n % 5 == 0 else TLP_GREEN
        made.append(stix2.Indicator(
            name="C2 %d" % n,
            pattern="[ipv4-addr:value = '203.0.113.%d']" % n,
            pattern_type="stix",
            valid_from="2024-05-01T00:00:00Z",
            indicator_types=["malicious-activity"],
            created_by_ref=identity.id,
            object_marking_refs=[tlp],
        ))
    made.append(stix2.Relationship(made[2], "indicates", malware))
    made.append(stix2.IPv4Address(value="198.18.47.3"))
    envelope = {"objects": [json.loads(o.serialize()) for o in made]}
    status = indicators.add_objects(envelope)
    check(status.status == "complete", "add_objects status complete")
    check(status.total_count == len(made) and status.success_count == len(made),
          "every object added (%d)" % status.success_count)
    again = root.get_status(status.id)
    check(again.id == status.id and again.success_count == len(made), "status read back")
    status = indicators.add_objects(envelope)
    check(status.failure_count == len(made) and status.success_count == 0,
          "posting the same versions again reports them as failures")

    # Pagination with as_pages over get_objects.
    total = preloaded + len(made)
    seen = []
    pages = 0
    for page in as_pages(indicators.get_objects, per_request=10):
        pages += 1
        seen.extend(o["id"] for o in objects_of(page))
    check(len(seen) == total and len(set(seen)) == total,
          "as_pages(get_objects) saw each of %d objects once" % total)
    check(pages == (total + 9) // 10, "%d pages of 10" % pages)

    # The manifest, paged too; added_after from a manifest record's date_added.
    manifest = []
    for page in as_pages(indicators.get_manifest, per_request=7):
        manifest.extend(objects_of(page))
    check([r["id"] for r in manifest] == seen, "manifest in the same order as objects")
    check(all(r["media_type"] == "application/stix+json;version=2.1" for r in manifest),
          "manifest media types")
    dates = [r["date_added"] for r in manifest]
    check(dates == sorted(dates) and len(set(dates)) == len(dates),
          "date_added strictly increasing")
    cut = manifest[9]["date_added"]
    after = objects_of(indicators.get_objects(added_after=cut))
    check([o["id"] for o in after] == seen[10:], "added_after is strict")
    only = objects_of(indicators.get_objects(type="malware"))
    check(malware.id in [o["id"] for o in only] and all(o["type"] == "malware" for o in only),
          "match[type]")

    # A new version; versions and match[version].
    first = made[3]
    newer = first.new_version(name="C2 1 (confirmed)", confidence=90)
    status = indicators.add_objects({"objects": [json.loads(newer.serialize())]})
    check(status.success_count == 1, "new version added")
    versions = indicators.object_versions(first.id)["versions"]
    check(len(versions) == 2, "two versions listed")
    latest = objects_of(indicators.get_object(first.id))
    check(len(latest) == 1 and latest[0]["name"] == "C2 1 (confirmed)", "get_object: latest")
    oldest = objects_of(indicators.get_object(first.id, version="first"))
    check(oldest[0]["name"] == "C2 1", "get_object: first version")
    every = objects_of(indicators.get_objects(version="all"))
    check(len(every) == total + 1, "match[version]=all")

    # Every object the server serves passes the OASIS validator.
    options = ValidationOptions(version="2.1")
    invalid = []
    for obj in every:
        result = validate_instance(obj, options)
        if not result.is_valid:
            invalid.append((obj["id"], [str(e) for e in result.errors]))
    check(not invalid, "stix2-validator: %d objects valid %s" % (len(every), invalid[:3]))
    print("validated: %d" % len(every))

    # TLP through TAXII from another organisation: no AMBER object of organisation a.
    other = Collection(indicators.url, user="node-b", password=reader)
    theirs = {o["id"]: o for p in as_pages(other.get_objects, per_request=50)
              for o in objects_of(p)}
    check(all(TLP_AMBER not in o.get("object_marking_refs", []) for o in theirs.values()),
          "organisation b reads no AMBER object of a")
    check(made[3].id in theirs and made[2].id not in theirs, "b reads GREEN, not AMBER")

    # Errors: an invalid object is refused with a TAXII error and nothing is stored.
    bad = json.loads(made[4].serialize())
    bad["id"] = "indicator--" + str(uuid.uuid4())
    del bad["pattern"]
    good = json.loads(stix2.Indicator(pattern="[domain-name:value = 'x.example']",
                                      pattern_type="stix").serialize())
    response = requests.post(indicators.objects_url, auth=("node-a", writer),
                             headers={"Content-Type": TAXII, "Accept": TAXII},
                             data=json.dumps({"objects": [good, bad]}))
    error = response.json()
    check(response.status_code == 422 and "pattern" in error["description"],
          "invalid object refused: %s" % error["description"])
    check(not objects_of(indicators.get_objects(id=good["id"])), "nothing stored from it")
    response = requests.post(indicators.objects_url, auth=("node-a", writer),
                             headers={"Content-Type": "application/json", "Accept": TAXII},
                             data=json.dumps({"objects": [good]}))
    check(response.status_code == 415 and response.json()["http_status"] == "415",
          "wrong media type refused")

    # Delete an object.
    indicators.delete_object(malware.id)
    check(not objects_of(indicators.get_objects(id=malware.id)), "delete_object")
    ApiRoot(root.url, user="node-a", password=writer).refresh()
    print("interop: all checks passed")


if __name__ == "__main__":
    main()
