import { ccCommand } from './cc.ts';

export default ccCommand('mpicc');
