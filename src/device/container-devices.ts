// CreateContainer's `devices`: the spec as the container must see it in this guest (see
// spec-devices.ts). Loaded only when a request carries devices.
import type { grpc } from "../gen/index.ts";
import { DeviceFinder } from "./devices.ts";
import { GuestDeviceResolver } from "./resolve.ts";
import { applyDeviceUpdates, deviceFromWire, resolveDevices } from "./spec-devices.ts";
import { deviceHub } from "./uevent-listener.ts";

export async function specWithGuestDevices(spec: grpc.ISpec, devices: grpc.IDevice[], timeoutMs: number, finder = new DeviceFinder(deviceHub())): Promise<grpc.ISpec> {
  const updates = await resolveDevices(devices.map(deviceFromWire), new GuestDeviceResolver(finder, timeoutMs));
  return applyDeviceUpdates(spec, updates);
}
