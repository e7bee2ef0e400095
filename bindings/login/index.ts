// Logins over the session registry (see README.md).
export { loginBot } from './bot';
export { LoginError, type LoginErrorCode } from './errors';
export { logOut } from './logout';
export { srpAnswer } from './password';
export type {
  CodeRequest,
  LoggedInUser,
  LoginApiOptions,
  LoginCalls,
  PasswordRequest,
  UserLoginOptions,
} from './types';
export { asUnauthorized, isUnauthorized, UnauthorizedError, type UnauthorizedReason } from './unauthorized';
export { loginUser } from './user';
