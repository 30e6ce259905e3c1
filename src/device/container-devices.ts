// CreateContainer's `devices`: the spec as the container must see it in this guest (see
// spec-devices.ts). Loaded only when a request carries devices.
import type { ISpec } from "../container/oci-types.ts";
import { DeviceFinder } from "./devices.ts";
import { GuestDeviceResolver } from "./resolve.ts";
import { applyDeviceUpdates, resolveDevices, type DeviceSpec } from "./spec-devices.ts";
import { deviceHub } from "./uevent-listener.ts";

export async function specWithGuestDevices(spec: ISpec, devices: DeviceSpec[], timeoutMs: number, finder = new DeviceFinder(deviceHub())): Promise<ISpec> {
  const updates = await resolveDevices(devices, new GuestDeviceResolver(finder, timeoutMs));
  return applyDeviceUpdates(spec, updates);
}
