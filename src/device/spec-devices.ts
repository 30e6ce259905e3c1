// The device list of CreateContainer (Kata's add_devices → update_spec_devices, update_env_pci,
// insert_devices_cgroup_rule). The runtime describes each device by how the guest sees it (a PCI
// path, SCSI address, /dev path) and the spec still carries the HOST's path and numbers: a guest
// device node made with those would be another device or none. So each device is resolved in the
// guest first (resolveDevices, async: it may wait for hot-plug) and then applied to a copy of the
// spec (applyDeviceUpdates, pure): Linux.Devices entries get the guest's numbers (and path for
// VFIO), Resources.Devices rules that named the host numbers are rewritten, an allow rule (rwm)
// is added per device, and PCIDEVICE_* variables get guest PCI addresses.
import type { ISpec } from "../container/oci-types.ts";
import { AgentError, invalid } from "../errors.ts";
import type { DeviceNumbers } from "./devices.ts";
import { formatPciAddress, parsePciAddress, type PciAddress } from "./pci.ts";

/** A device of the request, as plain data (Kata's protocols::agent::Device). */
export interface DeviceSpec {
  id: string;
  type: string;
  vmPath: string;
  containerPath: string;
  options: string[];
}

/** How the guest sees one device. */
export interface DeviceUpdate {
  containerPath: string;
  guest?: DeviceNumbers;
  /** A new path for the Linux.Devices entry (VFIO: /dev/vfio/<group>). */
  finalPath?: string;
  /** Host → guest PCI addresses (VFIO), for PCIDEVICE_* variables. */
  pci: [PciAddress, PciAddress][];
}

/** Looks up one guest device (src/device/resolve.ts implements it over sysfs and uevents). */
export interface DeviceResolver {
  resolve(d: DeviceSpec, field: string): Promise<DeviceUpdate>;
}

/** validate_device, then each device resolved in order. Nothing in the guest is changed except
 *  what finding a device needs (a SCSI rescan, a VFIO driver override). */
export async function resolveDevices(devices: DeviceSpec[], r: DeviceResolver): Promise<DeviceUpdate[]> {
  const out: DeviceUpdate[] = [];
  for (const [i, d] of devices.entries()) {
    const field = `devices[${i}]`;
    if (!d.type) throw invalid(`${field}: the device type is empty`);
    if (!d.id && !d.vmPath) throw invalid(`${field} (type ${d.type}): both id and vm_path are empty`);
    if (!d.containerPath) throw invalid(`${field} (type ${d.type}, id "${d.id}"): container_path is empty`);
    out.push(await r.resolve(d, field));
  }
  return out;
}

const sameNumber = (v: number | null | undefined, n: number) => typeof v === "number" && v >= 0 && v === n;

/** Applies resolved devices to a deep copy of the spec; the input is not changed. */
export function applyDeviceUpdates(spec: ISpec, updates: DeviceUpdate[]): ISpec {
  const out = structuredClone(spec) as ISpec;
  const withDev = new Map<string, DeviceUpdate>();
  for (const u of updates) {
    if (!u.guest) continue;
    if (withDev.has(u.containerPath)) throw invalid(`devices: two devices for container path ${u.containerPath}`);
    withDev.set(u.containerPath, u);
  }
  const linux = (out.Linux ??= {});
  // Linux.Devices: host numbers → guest numbers, remembered for the cgroup rules.
  const byHost = new Map<string, DeviceNumbers>();
  for (const d of linux.Devices ?? []) {
    const u = withDev.get(d.Path ?? "");
    if (!u) continue;
    withDev.delete(d.Path ?? "");
    const key = `${d.Type ?? ""}:${d.Major ?? 0}:${d.Minor ?? 0}`;
    if (byHost.has(key)) throw invalid(`devices: two Linux.Devices entries with host numbers ${key}`);
    byHost.set(key, u.guest!);
    d.Major = u.guest!.major;
    d.Minor = u.guest!.minor;
    if (u.finalPath) d.Path = u.finalPath;
  }
  if (withDev.size > 0) {
    throw invalid(`devices: no Linux.Devices entry in the OCI spec for container path(s) ${[...withDev.keys()].join(", ")}`);
  }
  const res = (linux.Resources ??= {});
  const rules = (res.Devices ??= []);
  for (const rule of rules) {
    for (const [key, g] of byHost) {
      const [type, maj, min] = key.split(":");
      if ((rule.Type ?? "") === type && sameNumber(rule.Major, Number(maj)) && sameNumber(rule.Minor, Number(min))) {
        rule.Major = g.major;
        rule.Minor = g.minor;
      }
    }
  }
  // insert_devices_cgroup_rule: each guest device is allowed, after the spec's own rules.
  for (const u of updates) {
    if (u.guest) rules.push({ Allow: true, Type: u.guest.type, Major: u.guest.major, Minor: u.guest.minor, Access: "rwm" });
  }
  const pci = updates.flatMap((u) => u.pci);
  if (pci.length > 0 && out.Process?.Env) out.Process.Env = updateEnvPci(out.Process.Env, pci);
  return out;
}

/**
 * update_env_pci: PCIDEVICE_<x>=<host BDF>[,<host BDF>…] (SR-IOV device plugins) → guest
 * addresses; the matching PCIDEVICE_<x>_INFO value gets the same replacements. A variable with a
 * value that is not a list of PCI addresses, or with an address that has no guest twin, is left
 * as it is (Kata does the same).
 */
export function updateEnvPci(env: string[], pairs: [PciAddress, PciAddress][]): string[] {
  const map = new Map<string, string>();
  for (const [host, guest] of pairs) {
    const h = formatPciAddress(host);
    const g = formatPciAddress(guest);
    const prev = map.get(h);
    if (prev !== undefined && prev !== g) throw invalid(`devices: host PCI device ${h} maps to two guest addresses (${prev}, ${g})`);
    map.set(h, g);
  }
  const infoRewrites = new Map<string, [string, string][]>();
  const result = env.map((kv) => {
    const eq = kv.indexOf("=");
    if (eq < 0) throw invalid(`Process.Env: malformed entry "${kv}"`);
    const name = kv.slice(0, eq);
    if (!name.startsWith("PCIDEVICE_") || name.endsWith("_INFO")) return kv;
    const hosts = kv.slice(eq + 1).split(",");
    const guests: string[] = [];
    for (const h of hosts) {
      const a = parsePciAddress(h);
      const g = a ? map.get(formatPciAddress(a)) : undefined;
      if (g === undefined) return kv;
      guests.push(g);
    }
    infoRewrites.set(`${name}_INFO`, hosts.map((h, i) => [h, guests[i]!]));
    return `${name}=${guests.join(",")}`;
  });
  return result.map((kv) => {
    const eq = kv.indexOf("=");
    const pairsFor = infoRewrites.get(kv.slice(0, eq));
    if (!pairsFor) return kv;
    let v = kv.slice(eq + 1);
    for (const [h, g] of pairsFor) v = v.split(h).join(g);
    return `${kv.slice(0, eq)}=${v}`;
  });
}

/** A device type no resolver handles. */
export function unsupportedDevice(d: DeviceSpec, field: string, why: string): AgentError {
  return new AgentError("invalid", `${field}: device type "${d.type}" (id "${d.id}") ${why}`);
}
