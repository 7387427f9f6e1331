export { startLab, type LabStartOptions, type RunningLab } from './lab.js';
export { XapiFailure } from './wire/failure.js';
export { VhdError } from './http/vhd.js';
