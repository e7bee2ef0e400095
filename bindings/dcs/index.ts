// Where Telegram's data centers are (see README.md): below auth, storage and
// session, which all need the table.

export {
  type CandidateQuery,
  type ConfigDcOption,
  DcDirectory,
  type DcEntry,
  dcDirectory,
} from './directory';
export { type DcAddress, type DcEnvironment, DEFAULT_PORT, dcAddresses, handshakeDcId } from './table';
